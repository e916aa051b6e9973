using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Proxy.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Draining;

/// <summary>Two replicas draining one Redis mailbox set at the same time.</summary>
public sealed class ReplicaDrainTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_replicas_never_drain_one_lane_together_and_deliver_each_entry_once_in_order()
    {
        var prefix = "r" + Guid.NewGuid().ToString("N")[..12];
        var time = new FakeTimeProvider(Start);
        var log = new ConcurrentQueue<string>();
        var busyLanes = new ConcurrentDictionary<MailboxLane, int>();
        var overlaps = 0;
        async Task<DeliveryResult> Deliver(MailboxEntry entry, int call)
        {
            if (!busyLanes.TryAdd(entry.Lane, 0))
            {
                Interlocked.Increment(ref overlaps);
            }

            await Task.Delay(1, Ct);
            log.Enqueue(entry.DeliveryId);
            busyLanes.TryRemove(entry.Lane, out _);
            return DeliveryResult.Answered(200);
        }

        using var first = new DrainerHarness(new ScriptedDelivery(time, Deliver), o => o.MaxConcurrentMailboxes = 4,
            t => new RedisMailboxStore(redis.Connection!, prefix, t), time);
        using var second = new DrainerHarness(new ScriptedDelivery(time, Deliver), o => o.MaxConcurrentMailboxes = 4,
            t => new RedisMailboxStore(redis.Connection!, prefix, t), time);
        var expected = new Dictionary<MailboxLane, List<string>>();
        for (var i = 0; i < 10; i++)
        {
            for (var lane = 0; lane < 8; lane++)
            {
                var entry = Entry($"github:{lane}", "us", Start);
                await first.Store.AppendAsync([entry], Ct);
                expected.TryAdd(entry.Lane, []);
                expected[entry.Lane].Add(entry.DeliveryId);
            }
        }

        for (var pass = 0; pass < 20 && log.Count < 80; pass++)
        {
            await Task.WhenAll(first.RunOnceAsync(), second.RunOnceAsync());
        }

        overlaps.Should().Be(0);
        var delivered = log.ToList();
        delivered.Should().HaveCount(80).And.OnlyHaveUniqueItems();
        foreach (var (lane, ids) in expected)
        {
            delivered.Where(ids.Contains).Should().Equal(ids, $"lane {lane} stays in order across replicas");
        }
    }

    [Fact]
    public async Task A_deleted_entry_hash_in_redis_leaves_other_mailboxes_delivering_and_the_orphan_is_counted_and_reported()
    {
        var prefix = "r" + Guid.NewGuid().ToString("N")[..12];
        var time = new FakeTimeProvider(Start);
        var delivery = new ScriptedDelivery(time);
        using var observed = new ObservedStore(redis.Connection!, prefix, time);
        // One lane a pass: the poisoned lane, first in the index, is the only one a pass is offered.
        using var harness = new DrainerHarness(delivery, o => o.MaxConcurrentMailboxes = 1, _ => observed.Store, time);
        var poisoned = Entry("github:0", "us", Start);
        await harness.Store.AppendAsync([poisoned], Ct);
        var expected = new List<MailboxEntry> { Entry("github:0", "us", Start) };
        expected.AddRange(Enumerable.Range(1, 3).Select(i => Entry($"github:{i}", "us", Start)));
        foreach (var entry in expected)
        {
            await harness.Store.AppendAsync([entry], Ct);
        }

        await redis.Connection!.GetDatabase().KeyDeleteAsync($"{prefix}:{{github:0}}:e:{poisoned.DeliveryId}");
        for (var pass = 0; pass < 5; pass++)
        {
            await harness.RunOnceAsync();
        }

        delivery.Calls.Select(c => c.Entry.DeliveryId).Should().BeEquivalentTo(expected.Select(e => e.DeliveryId));
        (await harness.Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(0, 0, null));
        var counted = observed.Orphans.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        counted.Tags.Should().Contain(new KeyValuePair<string, object?>("error.type", "missing"));
        observed.Log.Collector.GetSnapshot().Should().ContainSingle(r => r.Level == LogLevel.Warning && r.Message.Contains(poisoned.DeliveryId));
    }

    [Fact]
    public async Task Two_replicas_whose_clocks_differ_by_minutes_share_lanes_without_double_delivery_beyond_the_one_in_flight()
    {
        var prefix = "r" + Guid.NewGuid().ToString("N")[..12];
        var behind = new FakeTimeProvider(Start);
        var ahead = new FakeTimeProvider(Start.AddMinutes(7));
        var sent = new ConcurrentQueue<(string Replica, MailboxEntry Entry)>();
        var midSend = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var carryOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var first = new DrainerHarness(new ScriptedDelivery(behind, async (entry, call) =>
            {
                sent.Enqueue(("first", entry));
                if (call == 1)
                {
                    midSend.TrySetResult();
                    await carryOn.Task.WaitAsync(Ct);
                }

                return DeliveryResult.Answered(200);
            }), o => o.MaxConcurrentMailboxes = 1, t => new RedisMailboxStore(redis.Connection!, prefix, t), behind);
        using var second = new DrainerHarness(new ScriptedDelivery(ahead, (entry, _) =>
            {
                sent.Enqueue(("second", entry));
                return Task.FromResult(DeliveryResult.Answered(200));
            }), o => o.MaxConcurrentMailboxes = 8, t => new RedisMailboxStore(redis.Connection!, prefix, t), ahead);
        var lanes = new Dictionary<MailboxLane, List<string>>();
        for (var i = 0; i < 3; i++)
        {
            for (var lane = 0; lane < 5; lane++)
            {
                var entry = Entry($"github:{lane}", "us", Start);
                await first.Store.AppendAsync([entry], Ct);
                lanes.TryAdd(entry.Lane, []);
                lanes[entry.Lane].Add(entry.DeliveryId);
            }
        }

        // A replica that died mid-send on github:4: it counted the attempt, then never released.
        var deadLane = new MailboxLane("github:4", "us");
        var dead = new RedisMailboxStore(redis.Connection!, prefix, behind);
        var deadLease = (await dead.TryClaimAsync(deadLane, TimeSpan.FromSeconds(30), Ct))!;
        var inFlight = (await dead.PeekAsync(deadLane, 1, Ct)).Single();
        (await dead.RescheduleAsync(deadLease, inFlight.DeliveryId, Start.AddMinutes(4.2), Ct)).Should().BeTrue();
        sent.Enqueue(("dead", inFlight));

        // The first replica is mid-send on github:0 while the second, whose clock reads 7 minutes later, polls.
        var firstPass = first.RunOnceAsync();
        await midSend.Task.WaitAsync(Ct);
        await second.RunOnceAsync();
        sent.Where(s => s.Replica == "second").Select(s => s.Entry.Mailbox).Should().NotContain(["github:0", "github:4"],
            "both leases still hold on Redis's clock, however far ahead this replica's clock is");
        carryOn.SetResult();
        await firstPass;

        // The dead replica's last renewal runs out on Redis's clock alone; then the second replica takes the lane over.
        (await dead.RenewAsync(deadLease, TimeSpan.FromMilliseconds(50), Ct)).Should().NotBeNull();
        for (var deadline = DateTime.UtcNow.AddSeconds(10); sent.Count(s => s.Entry.Mailbox == "github:4") < 4 && DateTime.UtcNow < deadline; await Task.Delay(20, Ct))
        {
            // Its own clock moves on too: a lane found leased is looked at again when Redis said the lease ends.
            ahead.Advance(TimeSpan.FromSeconds(1));
            await second.RunOnceAsync();
        }

        var all = sent.ToList();
        foreach (var (lane, ids) in lanes)
        {
            var delivered = all.Where(s => s.Entry.Lane == lane && s.Replica != "dead").Select(s => s.Entry.DeliveryId).ToList();
            delivered.Should().Equal(ids, $"lane {lane} is delivered once, in order, by one replica at a time");
        }

        all.Where(s => s.Entry.DeliveryId == inFlight.DeliveryId).Select(s => s.Replica).Should().Equal(["dead", "second"],
            "only the send in flight when its replica died goes out twice");
        all.Where(s => s.Replica == "first").Select(s => s.Entry.Mailbox).Should().OnlyContain(m => m == "github:0");
    }
}
