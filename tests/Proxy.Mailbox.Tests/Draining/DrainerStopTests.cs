using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proxy.Testing;
using StackExchange.Redis;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Draining;

/// <summary>
/// Stops that cost nothing: a graceful stop takes no new entry, and a send cut short by the shutdown or whose result a
/// store outage swallowed is not an attempt: its entry is due again at once, with no backoff.
/// </summary>
public sealed class DrainerStopTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, what);
            await Task.Delay(10, Ct);
        }
    }

    private static async Task<Dictionary<MailboxLane, List<string>>> AppendLanesAsync(IMailboxStore store, int lanes, int entries)
    {
        var expected = new Dictionary<MailboxLane, List<string>>();
        for (var i = 0; i < entries; i++)
        {
            for (var lane = 1; lane <= lanes; lane++)
            {
                var entry = Entry($"github:{lane}", "us", Start);
                await store.AppendAsync([entry], Ct);
                expected.TryAdd(entry.Lane, []);
                expected[entry.Lane].Add(entry.DeliveryId);
            }
        }

        return expected;
    }

    private static async Task ShouldBeUntouchedAndDueAsync(IMailboxStore store, DateTimeOffset now, int lanes)
    {
        var summaries = await store.ListMailboxesAsync(10, Ct);
        summaries.Should().HaveCount(lanes);
        summaries.Should().OnlyContain(s => s.HeadAttempts == 0, "a send that got no result is not an attempt");
        summaries.Should().OnlyContain(s => s.HeadNextAttemptAt <= now, "and its entry waits for no backoff");
    }

    [Fact]
    public async Task A_graceful_stop_takes_no_new_entry_and_the_sends_it_cut_short_cost_no_attempt()
    {
        var delivery = new HeldDelivery();
        using var harness = new DrainerHarness(delivery);
        var expected = await AppendLanesAsync(harness.Store, lanes: 3, entries: 3);
        await harness.Drainer.StartAsync(Ct);
        await WaitUntilAsync(() => delivery.Calls.Count == 3, "each lane's head is in flight");

        using var hardStop = new CancellationTokenSource();
        var stopping = harness.Drainer.StopAsync(hardStop.Token);
        var first = delivery.Calls.First(c => c.Mailbox == "github:1");
        delivery.Release(first.DeliveryId, DeliveryResult.Answered(200));
        await WaitUntilAsync(() => harness.Drainer.ActiveLanes == 2, "the lane whose send finished ends there");
        delivery.Calls.Should().HaveCount(3, "a stopping drainer starts no new delivery");

        await hardStop.CancelAsync();
        await stopping.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        harness.Drainer.ActiveLanes.Should().Be(0);
        await ShouldBeUntouchedAndDueAsync(harness.Store, harness.Time.GetUtcNow(), lanes: 3);
        (await harness.Store.PeekAsync(first.Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(expected[first.Lane].Skip(1),
            "the delivery that finished during the stop was acknowledged");

        // The next process, at the same instant: leases were given back and nothing waits for a backoff.
        var restarted = new ScriptedDelivery(harness.Time);
        using var next = new MailboxDrainer(harness.Store, restarted, new MailboxSignal(), harness.Metrics,
            new FixedOptionsMonitor<MailboxOptions>(harness.Options), harness.Time, NullLogger<MailboxDrainer>.Instance);
        await next.RunOnceAsync(Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);

        restarted.Calls.Should().HaveCount(8).And.OnlyContain(c => c.Entry.Attempts == 1);
        foreach (var (lane, ids) in expected)
        {
            restarted.Calls.Where(c => c.Entry.Lane == lane).Select(c => c.Entry.DeliveryId).Should()
                .Equal(lane == first.Lane ? ids.Skip(1) : ids, $"lane {lane} goes on in order");
        }

        (await harness.Store.GetStatsAsync(Ct)).Pending.Should().Be(0);
    }

    [Fact]
    public async Task A_redis_outage_mid_delivery_costs_no_attempt_and_everything_is_delivered_after_recovery()
    {
        await using var redis = new RedisServer { AppendOnly = true };
        await redis.InitializeAsync();
        // A connection of the test's own, which survives the restart (the fixture's own connection does not).
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",asyncTimeout=1000,syncTimeout=1000");
        var delivery = new HeldDelivery();
        var time = new FakeTimeProvider(Start);
        using var harness = new DrainerHarness(delivery, o => { o.LeaseSeconds = 2; o.DeliveryTimeoutSeconds = 1; },
            t => new RedisMailboxStore(connection, "outage", t), time);
        var expected = await AppendLanesAsync(harness.Store, lanes: 3, entries: 2);
        var run = harness.RunOnceAsync();
        await WaitUntilAsync(() => delivery.Calls.Count == 3, "each lane's head is in flight");

        await redis.KillAsync();
        foreach (var call in delivery.Calls)
        {
            delivery.Release(call.DeliveryId, DeliveryResult.Answered(200));
        }

        await run;
        delivery.Calls.Should().HaveCount(3, "a lane whose store is gone stops");
        await redis.RestartAsync();
        await WaitUntilAsync(() => connection.IsConnected, "the client reconnects");

        await ShouldBeUntouchedAndDueAsync(harness.Store, time.GetUtcNow(), lanes: 3);
        // The leases the outage kept from being given back run out (LeaseSeconds, far short of the 4.2-minute backoff).
        time.Advance(TimeSpan.FromSeconds(3));
        delivery.AnswerAtOnce = DeliveryResult.Answered(200);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await harness.Store.GetStatsAsync(Ct)).Pending > 0 && DateTime.UtcNow < deadline)
        {
            await harness.RunOnceAsync();
            await Task.Delay(50, Ct);
        }

        (await harness.Store.GetStatsAsync(Ct)).Pending.Should().Be(0, "everything accepted is delivered once Redis is back");
        foreach (var (lane, ids) in expected)
        {
            var sent = delivery.Calls.Where(c => c.Lane == lane).ToList();
            sent.Select(c => c.DeliveryId).Distinct().Should().Equal(ids, $"lane {lane} is delivered in order");
            sent.Should().OnlyContain(c => c.Attempts == 1, "the send whose acknowledgement was lost was not counted");
        }
    }

    /// <summary>Holds each send until the test releases it, or until the drainer's hard stop cancels it.</summary>
    private sealed class HeldDelivery : IMailboxDelivery
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<DeliveryResult>> _held = new();

        public ConcurrentQueue<MailboxEntry> Calls { get; } = new();

        /// <summary>When set, sends are answered with it at once instead of being held.</summary>
        public DeliveryResult? AnswerAtOnce { get; set; }

        public async Task<DeliveryResult> DeliverAsync(MailboxEntry entry, CancellationToken cancellationToken)
        {
            Calls.Enqueue(entry);
            if (AnswerAtOnce is { } answer)
            {
                return answer;
            }

            var held = _held.GetOrAdd(entry.DeliveryId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
            return await held.Task.WaitAsync(cancellationToken);
        }

        public void Release(string deliveryId, DeliveryResult result)
            => _held.GetOrAdd(deliveryId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(result);
    }
}
