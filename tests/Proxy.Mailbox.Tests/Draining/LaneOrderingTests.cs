using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proxy.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Draining;

/// <summary>
/// Due-head and strict lanes, and the operator's retry-now and purge, with the drainer over a real SQLite file and a
/// real redis-server; where a region answers, it is a real Kestrel stub reached through the HTTP delivery.
/// </summary>
public sealed class LaneOrderingTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly MailboxOrdering s_defaults = MailboxOrdering.Of(MailboxOrdering.Defaults());

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DrainerHarness Harness(string store, IMailboxDelivery delivery, FakeTimeProvider? time = null)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        return store == "redis"
            ? new DrainerHarness(delivery, time: time, ordering: s_defaults,
                store: clock => new RedisMailboxStore(redis.Connection!, prefix, clock, ordering: s_defaults))
            : new DrainerHarness(delivery, time: time, ordering: s_defaults);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("redis")]
    public async Task Due_head_a_failing_head_does_not_block_later_github_entries_it_does_for_a_strict_provider(string kind)
    {
        var github = Enumerable.Range(0, 3).Select(_ => Entry("github:1", "us", Start)).ToList();
        var jira = Enumerable.Range(0, 3).Select(_ => Entry("jira:1", "us", Start)).ToList();
        var refusedOnce = new HashSet<string> { github[0].DeliveryId, jira[0].DeliveryId };
        var delivery = new ScriptedDelivery(TimeProvider.System, (entry, _) =>
        {
            lock (refusedOnce)
            {
                return Task.FromResult(DeliveryResult.Answered(refusedOnce.Remove(entry.DeliveryId) ? 503 : 200));
            }
        });
        using var harness = Harness(kind, delivery);
        foreach (var entry in github.Concat(jira))
        {
            await harness.Store.AppendAsync([entry], Ct);
        }

        await harness.RunOnceAsync();

        var sent = delivery.Calls.Select(c => c.Entry.DeliveryId).ToList();
        sent.Where(id => github.Any(e => e.DeliveryId == id)).Should().Equal(github.Select(e => e.DeliveryId),
            "the failed github head waits out its backoff while the later entries go, in their order");
        sent.Where(id => jira.Any(e => e.DeliveryId == id)).Should().Equal([jira[0].DeliveryId], "the failed jira head blocks its lane");
        var githubLeft = (await harness.Store.PeekAsync(github[0].Lane, 10, Ct)).Single();
        githubLeft.DeliveryId.Should().Be(github[0].DeliveryId);
        githubLeft.Attempts.Should().Be(1);
        (await harness.Store.PeekAsync(jira[0].Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(jira.Select(e => e.DeliveryId));

        harness.Time.Advance(TimeSpan.FromMinutes(4.2) - TimeSpan.FromSeconds(1));
        await harness.RunOnceAsync();
        delivery.Calls.Should().HaveCount(4, "nothing is due before the backoff is over");

        harness.Time.Advance(TimeSpan.FromSeconds(1));
        await harness.RunOnceAsync();

        var retried = delivery.Calls.Skip(4).Select(c => (c.Entry.DeliveryId, c.Entry.Attempts)).ToList();
        retried.Should().BeEquivalentTo([(github[0].DeliveryId, 2), (jira[0].DeliveryId, 2), (jira[1].DeliveryId, 1), (jira[2].DeliveryId, 1)]);
        retried.Where(c => jira.Any(e => e.DeliveryId == c.DeliveryId)).Select(c => c.DeliveryId).Should().Equal(jira.Select(e => e.DeliveryId), "the strict lane goes on in order once its head is delivered");
        (await harness.Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(0, 0, null));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("redis")]
    public async Task Retry_now_makes_a_backing_off_lane_deliver_at_once(string kind)
    {
        await using var region = await SiloStub.StartAsync("us");
        region.Answer = (_, call) => new StubAnswer(call == 1 ? 503 : 200);
        using var regions = new TestRegionClusters().Add("us", region.Address);
        var time = new FakeTimeProvider(Start);
        using var harness = Harness(kind, HttpDelivery(regions, time), time);
        var head = Entry("jira:1", "us", Start, body: "{\"n\":1}");
        var next = Entry("jira:1", "us", Start, body: "{\"n\":2}");
        await harness.Store.AppendAsync([head], Ct);
        await harness.Store.AppendAsync([next], Ct);
        await harness.RunOnceAsync();
        await harness.RunOnceAsync();
        region.Requests.Should().HaveCount(1, "the head is in backoff for 4.2 minutes and blocks its lane");

        var change = await harness.Store.RetryNowAsync("jira:1", null, Ct);
        await harness.RunOnceAsync();

        change.Should().Be(new MailboxLaneChange(1, 1));
        var requests = region.Requests;
        requests.Select(r => r.Header(MailboxHeaders.DeliveryId)).Should().Equal(head.DeliveryId, head.DeliveryId, next.DeliveryId);
        requests.Select(r => r.Header(MailboxHeaders.DeliveryAttempt)).Should().Equal(["1", "2", "1"], "the attempts were kept");
        time.GetUtcNow().Should().Be(Start, "no backoff was waited out");
        (await harness.Store.GetStatsAsync(Ct)).Pending.Should().Be(0);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("redis")]
    public async Task Purging_an_idle_lane_leaves_nothing_to_deliver(string kind)
    {
        var purgedEntries = Enumerable.Range(0, 3).Select(_ => Entry("jira:1", "us", Start)).ToList();
        await using var region = await SiloStub.StartAsync("us");
        region.Answer = (request, _) => new StubAnswer(request.Header(MailboxHeaders.DeliveryId) == purgedEntries[0].DeliveryId ? 503 : 200);
        using var regions = new TestRegionClusters().Add("us", region.Address);
        var time = new FakeTimeProvider(Start);
        using var harness = Harness(kind, HttpDelivery(regions, time), time);
        foreach (var entry in purgedEntries)
        {
            await harness.Store.AppendAsync([entry], Ct);
        }

        await harness.Store.AppendAsync([Entry("jira:2", "us", Start)], Ct);
        await harness.RunOnceAsync();
        region.Requests.Should().HaveCount(2, "jira:1's head failed and waits; jira:2 was delivered");

        var change = await harness.Store.PurgeLanesAsync("jira:1", null, Ct);
        time.Advance(TimeSpan.FromHours(1));
        await harness.RunOnceAsync();

        change.Should().Be(new MailboxLaneChange(1, 3));
        region.Requests.Should().HaveCount(2, "nothing of the purged lane is sent");
        (await harness.Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(0, 0, null));
        (await harness.Store.ListMailboxesAsync(10, Ct)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("sqlite", 200)]
    [InlineData("sqlite", 503)]
    [InlineData("sqlite", 404)]
    [InlineData("redis", 200)]
    [InlineData("redis", 503)]
    [InlineData("redis", 404)]
    public async Task Purging_a_lane_with_a_delivery_in_flight_stops_it_and_its_answer_brings_nothing_back(string kind, int answer)
    {
        using var inFlight = new ManualResetEventSlim();
        using var purged = new ManualResetEventSlim();
        await using var region = await SiloStub.StartAsync("us");
        region.Answer = (_, call) =>
        {
            if (call == 1)
            {
                inFlight.Set();
                purged.Wait(TimeSpan.FromSeconds(20));
                return new StubAnswer(answer);
            }

            return new StubAnswer(200);
        };
        using var regions = new TestRegionClusters().Add("us", region.Address);
        var time = new FakeTimeProvider(Start);
        using var harness = Harness(kind, HttpDelivery(regions, time), time);
        using var laneErrors = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.lane.errors");
        var purgedEntries = Enumerable.Range(0, 4).Select(_ => Entry("github:1", "us", Start)).ToList();
        foreach (var entry in purgedEntries)
        {
            await harness.Store.AppendAsync([entry], Ct);
        }

        var drain = harness.RunOnceAsync();
        inFlight.Wait(TimeSpan.FromSeconds(20), Ct).Should().BeTrue("the first delivery reached the region");
        var change = await harness.Store.PurgeLanesAsync("github:1", "us", Ct);
        purged.Set();
        await drain;

        change.Should().Be(new MailboxLaneChange(1, 4), "the lane was purged while leased");
        region.Requests.Select(r => r.Header(MailboxHeaders.DeliveryId)).Should().Equal([purgedEntries[0].DeliveryId],
            "only the send already on the wire reached the region");
        (await harness.Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(0, 0, null), "its answer re-created no entry and no dead letter");
        (await harness.Store.ListMailboxesAsync(10, Ct)).Should().BeEmpty();
        laneErrors.GetMeasurementSnapshot().Should().BeEmpty("a purged lane is not a failure");

        var later = Entry("github:1", "us", Start);
        await harness.Store.AppendAsync([later], Ct);
        await harness.RunOnceAsync();
        region.Requests.Select(r => r.Header(MailboxHeaders.DeliveryId)).Should().Equal(purgedEntries[0].DeliveryId, later.DeliveryId);
    }

    private static HttpMailboxDelivery HttpDelivery(TestRegionClusters regions, TimeProvider time) =>
        new(regions.Builder, new FixedOptionsMonitor<MailboxOptions>(new MailboxOptions()), time, NullLogger<HttpMailboxDelivery>.Instance);
}
