using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Flags;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;
using Proxy.Testing;

namespace Proxy.Billing.Tests.Processing;

/// <summary>
/// Reference §9: the nine buckets of the reference's consumer test, one at a time, through the real Redis
/// transport. The reference's hybrid test also expects a PROFILE outcome for the has_profile bucket; the
/// version this consumer follows (VA) does not produce one, so neither do we.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class ReferenceExpectationsTests(RedisServer redis) : IAsyncLifetime
{
    // The 7-day keys are global names: a fresh organization per test keeps tests apart without flushing Redis.
    private readonly long Org = Ids.NewOrganization();
    private const long Project1 = 101;
    private const long Project2 = 102;
    private const long MissingProject = 103;

    private readonly FakeTimeProvider _time = new(Evaluation.Now);
    private BillingHarness _harness = null!;

    public async ValueTask InitializeAsync()
    {
        _harness = await BillingHarness.StartAsync(redis, _time);
        await _harness.AddProjectAsync(Project1);
        await _harness.AddProjectAsync(Project2);
    }

    public async ValueTask DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    internal async Task The_nine_buckets_of_the_reference_test()
    {
        var profileTag = new Dictionary<string, string> { [Buckets.HasProfileTag.ToString(System.Globalization.CultureInfo.InvariantCulture)] = "true" };

        // 1. A custom counter gives no outcome, and project 1's flag is set after it.
        (await Submit(Buckets.Custom(Org, Project1, "c:custom/user_click@none", 981, new CounterValue(123.4)))).Should().BeEmpty();
        (await _harness.ProjectFlagsAsync(Project1)).Should().Be((ulong)ProjectFlags.HasCustomMetrics);

        // 2. A custom distribution gives no outcome.
        (await Submit(Buckets.Custom(Org, Project1, "d:custom/page_load@ms", 123))).Should().BeEmpty();

        // 3. Transactions usage of 0.0 gives no outcome.
        (await Submit(Buckets.Usage(Org, Project1, 0.0))).Should().BeEmpty();

        // 4. A duration distribution with no values gives no outcome.
        (await Submit(Buckets.Duration(Org, Project1))).Should().BeEmpty();

        // 5. Usage 3.0 for project 2: exactly one ACCEPTED TRANSACTION outcome of quantity 3.
        (await Submit(Buckets.Usage(Org, Project2, 3.0))).Should().Equal(
            new Outcome(Evaluation.Now, Org, Project2, null, OutcomeKind.Accepted, null, null, DataCategory.Transaction, 3));

        // 6. A duration [1,2,3] for project 2 adds nothing.
        (await Submit(Buckets.Duration(Org, Project2, 1, 2, 3))).Should().BeEmpty();

        // 7. A custom bucket for project 2 sets its flag, which was unset before.
        (await _harness.ProjectFlagsAsync(Project2)).Should().Be(0);
        (await Submit(Buckets.Custom(Org, Project2))).Should().BeEmpty();
        (await _harness.ProjectFlagsAsync(Project2)).Should().Be((ulong)ProjectFlags.HasCustomMetrics);

        // 8. Usage 1.0 with has_profile "true" for a project that does not exist: TRANSACTION 1, and no PROFILE (VA).
        (await Submit(Buckets.Usage(Org, MissingProject, 1.0, tags: profileTag))).Should().Equal(
            new Outcome(Evaluation.Now, Org, MissingProject, null, OutcomeKind.Accepted, null, null, DataCategory.Transaction, 1));

        // 9. A duration [4.0] with the profile tag adds nothing.
        (await Submit(Buckets.Duration(Org, MissingProject, 4.0))).Should().BeEmpty();

        // 11. The 7-day keys exist for both existing projects and not for the missing one.
        (await _harness.Database.KeyExistsAsync($"has-custom-metrics-flag-updated:{Org}:{Project1}")).Should().BeTrue();
        (await _harness.Database.KeyExistsAsync($"has-custom-metrics-flag-updated:{Org}:{Project2}")).Should().BeTrue();
        (await _harness.Database.KeyExistsAsync($"has-custom-metrics-flag-updated:{Org}:{MissingProject}")).Should().BeFalse();
        (await _harness.Database.KeyTimeToLiveAsync($"has-custom-metrics-flag-updated:{Org}:{Project1}"))
            .Should().BeCloseTo(TimeSpan.FromDays(7), TimeSpan.FromMinutes(1));

        // 10. Every bucket was acknowledged (the reference's next step saw each submit and the join).
        var group = (await _harness.Database.StreamGroupInfoAsync(_harness.Options.Redis.InputStream)).Single();
        group.PendingMessageCount.Should().Be(0);
        group.EntriesRead.Should().Be(9);
        (await _harness.EventsAsync()).Select(e => e.ProjectId).Should().Equal(Project1, Project2);
    }

    [Fact]
    internal async Task A_custom_bucket_of_a_missing_project_sets_no_key_and_is_looked_up_again()
    {
        (await Submit(Buckets.Custom(Org, MissingProject))).Should().BeEmpty();
        (await _harness.Database.KeyExistsAsync($"has-custom-metrics-flag-updated:{Org}:{MissingProject}")).Should().BeFalse();

        // The project appears; the next custom bucket finds it at once, since misses are not cached.
        await _harness.AddProjectAsync(MissingProject);
        await Submit(Buckets.Custom(Org, MissingProject));

        (await _harness.ProjectFlagsAsync(MissingProject)).Should().Be((ulong)ProjectFlags.HasCustomMetrics);
        (await _harness.EventsAsync()).Should().ContainSingle().Which.ProjectId.Should().Be(MissingProject);
    }

    private async Task<IReadOnlyList<Outcome>> Submit(string bucket)
    {
        var before = (await _harness.OutcomesAsync()).Count;
        await _harness.AddBucketsAsync(bucket);
        await _harness.DrainAsync();
        return [.. (await _harness.OutcomesAsync()).Skip(before)];
    }
}
