using System.Collections.Concurrent;
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
}
