using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Flags;
using Proxy.Billing.Tests.Support;
using Proxy.Billing.Transport;
using Proxy.Testing;

namespace Proxy.Billing.Tests.Flags;

[Collection(RedisTests.Name)]
public sealed class CustomMetricFlaggerTests(RedisServer redis)
{
    private readonly long _org = Ids.NewOrganization();

    [Fact]
    internal async Task A_project_whose_flag_is_already_set_gets_no_event_but_the_7_day_key()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        await harness.AddProjectAsync(5, (ulong)(ProjectFlags.HasCustomMetrics | ProjectFlags.HasReleases));

        await harness.AddBucketsAsync(Buckets.Custom(_org, 5));
        await harness.DrainAsync();

        (await harness.EventsAsync()).Should().BeEmpty();
        (await harness.Database.KeyExistsAsync(CustomMetricFlagger.FlagUpdatedKey(_org, 5))).Should().BeTrue();
        (await harness.ProjectFlagsAsync(5)).Should().Be((ulong)(ProjectFlags.HasCustomMetrics | ProjectFlags.HasReleases));
    }

    [Fact]
    internal async Task Other_flag_bits_are_kept_when_the_custom_metrics_bit_is_set()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        const ulong high = 1UL << 63 | 1UL << 40 | 10;
        await harness.AddProjectAsync(6, high);

        await harness.AddBucketsAsync(Buckets.Custom(_org, 6));
        await harness.DrainAsync();

        (await harness.ProjectFlagsAsync(6)).Should().Be(high | (ulong)ProjectFlags.HasCustomMetrics);
        (await harness.EventsAsync()).Should().Equal(new Proxy.Billing.Messages.FirstCustomMetricReceived(_org, 6, Evaluation.Now));
    }

    [Fact]
    internal async Task While_the_7_day_key_exists_the_store_is_not_asked()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        await harness.AddProjectAsync(7);
        await harness.Database.StringSetAsync(CustomMetricFlagger.FlagUpdatedKey(_org, 7), "1");

        await harness.AddBucketsAsync(Buckets.Custom(_org, 7));
        await harness.DrainAsync();

        (await harness.ProjectFlagsAsync(7)).Should().Be(0);
        (await harness.EventsAsync()).Should().BeEmpty();
    }

    [Fact]
    internal async Task Project_flags_are_read_through_a_300_second_memory_cache()
    {
        var time = new FakeTimeProvider(Evaluation.Now);
        await using var harness = await BillingHarness.StartAsync(redis, time);
        var cache = harness.Services.GetRequiredService<ProjectFlagsCache>();
        await harness.AddProjectAsync(8);
        (await cache.GetFlagsAsync(8, default)).Should().Be(ProjectFlags.None);

        await harness.AddProjectAsync(8, (ulong)ProjectFlags.HasCustomMetrics);
        time.Advance(TimeSpan.FromSeconds(299));
        (await cache.GetFlagsAsync(8, default)).Should().Be(ProjectFlags.None);
        time.Advance(TimeSpan.FromSeconds(1));
        (await cache.GetFlagsAsync(8, default)).Should().Be(ProjectFlags.HasCustomMetrics);
    }

    [Fact]
    internal async Task Racing_consumers_publish_exactly_one_event_per_project()
    {
        var tag = "{billing-race-" + Guid.NewGuid().ToString("N")[..6] + "}";
        var consumers = new List<BillingHarness>();
        for (var i = 0; i < 3; i++)
        {
            var name = $"consumer-{i}";
            consumers.Add(await BillingHarness.StartAsync(redis, TimeProvider.System, s =>
            {
                s["Billing:Redis:ConsumerName"] = name;
                s["Billing:BatchSize"] = "4";
                s["Billing:MaxBatchWait"] = "00:00:00.010";
            }, tag));
        }

        try
        {
            long[] projects = [21, 22, 23];
            foreach (var project in projects)
            {
                await consumers[0].AddProjectAsync(project);
            }

            await consumers[0].AddBucketsAsync([.. Enumerable.Range(0, 60).Select(i => Buckets.Custom(_org, projects[i % 3]))]);
            await Task.WhenAll(consumers.Select(c => Task.Run(c.DrainAsync)));

            var events = await consumers[0].EventsAsync();
            events.Select(e => e.ProjectId).Should().BeEquivalentTo(projects);
            foreach (var project in projects)
            {
                (await consumers[0].ProjectFlagsAsync(project)).Should().Be((ulong)ProjectFlags.HasCustomMetrics);
            }
        }
        finally
        {
            foreach (var consumer in consumers)
            {
                await consumer.DisposeAsync();
            }
        }
    }

    [Fact]
    internal async Task A_crash_after_claiming_the_event_but_before_the_commit_publishes_it_on_redelivery()
    {
        var tag = "{billing-crash-" + Guid.NewGuid().ToString("N")[..6] + "}";
        var time = new FakeTimeProvider(Evaluation.Now);
        await using (var crashed = await BillingHarness.StartAsync(redis, time, tag: tag))
        {
            await crashed.AddProjectAsync(31);
            var ids = await crashed.AddBucketsAsync(Buckets.Custom(_org, 31));
            var batch = await crashed.Transport.ReadBatchAsync(default);

            // The consumer decides the event (claiming the project's marker), then dies before committing.
            var flagger = crashed.Services.GetRequiredService<CustomMetricFlagger>();
            var plan = await flagger.PlanAsync([new CustomMetricSighting(0, batch[0].Id, _org, 31)], crashed.Transport, default);
            plan.Events.Should().ContainSingle();
            (await crashed.Database.StringGetAsync(flagger.EventMarkerKey(31))).ToString().Should().Be(ids[0]);
        }

        // Meanwhile another bucket of the project is handled by someone else: it must not publish.
        await using var restarted = await BillingHarness.StartAsync(redis, time, tag: tag);
        await restarted.AddBucketsAsync(Buckets.Custom(_org, 31));
        await restarted.DrainAsync();

        (await restarted.EventsAsync()).Should().ContainSingle().Which.ProjectId.Should().Be(31);
        (await restarted.ProjectFlagsAsync(31)).Should().Be((ulong)ProjectFlags.HasCustomMetrics);
    }

    [Fact]
    internal async Task A_crash_between_the_commit_and_the_flag_is_finished_by_the_next_custom_bucket_without_a_second_event()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        await harness.AddProjectAsync(41);
        await harness.AddBucketsAsync(Buckets.Custom(_org, 41));
        var batch = await harness.Transport.ReadBatchAsync(default);
        var flagger = harness.Services.GetRequiredService<CustomMetricFlagger>();
        var plan = await flagger.PlanAsync([new CustomMetricSighting(0, batch[0].Id, _org, 41)], harness.Transport, default);
        await harness.Transport.CommitAsync(batch, plan.Events, default);

        // ... and the process dies here, before RecordAsync: the bit and the 7-day key are not set.
        (await harness.ProjectFlagsAsync(41)).Should().Be(0);
        await harness.AddBucketsAsync(Buckets.Custom(_org, 41));
        await harness.DrainAsync();

        (await harness.EventsAsync()).Should().ContainSingle();
        (await harness.ProjectFlagsAsync(41)).Should().Be((ulong)ProjectFlags.HasCustomMetrics);
        (await harness.Database.KeyExistsAsync(CustomMetricFlagger.FlagUpdatedKey(_org, 41))).Should().BeTrue();
    }

    [Fact]
    internal async Task Unreadable_stored_flags_skip_the_flag_but_do_not_stall_the_input()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        await harness.Database.StringSetAsync(harness.Options.Flags.ProjectFlagsKeyPrefix + 71, "not a number");

        await harness.AddBucketsAsync(Buckets.Custom(_org, 71), Buckets.Usage(_org, 71, 3));
        await harness.DrainAsync();

        (await harness.OutcomesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(3);
        (await harness.EventsAsync()).Should().BeEmpty();
    }

    [Fact]
    internal async Task Several_custom_buckets_of_one_project_in_a_batch_publish_one_event()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        await harness.AddProjectAsync(51);

        await harness.AddBucketsAsync(Buckets.Custom(_org, 51), Buckets.Custom(_org, 51, "c:custom/clicks@none", 9), Buckets.Custom(_org, 51));
        await harness.DrainAsync();

        var entries = await harness.EntriesAsync(harness.Options.Redis.EventsStream);
        entries.Should().ContainSingle();
        ((string?)entries[0][StreamFields.Type]).Should().Be("first_custom_metric_received");
    }
}
