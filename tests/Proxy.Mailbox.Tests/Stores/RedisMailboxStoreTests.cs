using Proxy.Testing;
using StackExchange.Redis;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Stores;

public sealed class RedisMailboxStoreTests(RedisServer redis) : MailboxStoreContract, IClassFixture<RedisServer>
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];

    private protected override IMailboxStore CreateStore() => new RedisMailboxStore(redis.Connection!, _prefix, Time);

    [Fact]
    public async Task A_lane_written_without_its_index_entry_is_found_again_by_the_repair()
    {
        var entry = Entry("github:1", "us", Start);
        var dead = Entry("github:2", "us", Start);
        await Store.AppendAsync([entry], Ct);
        await Store.AppendAsync([dead], Ct);
        await Store.DeadLetterAsync(dead.Lane, dead.DeliveryId, new DeadLetterCause("not_found", 404, null), Ct);
        var db = redis.Connection!.GetDatabase();
        // What a crash between the mailbox write and the index write leaves behind.
        await db.KeyDeleteAsync([$"{_prefix}:{{idx}}:lanes", $"{_prefix}:{{idx}}:dead", $"{_prefix}:{{idx}}:deadmb"]);
        (await Store.GetDueLanesAsync(10, Ct)).Should().BeEmpty();

        var repaired = await ((IMailboxIndexRepair)Store).RepairIndexesAsync(Ct);

        repaired.Should().Be(2);
        (await Store.GetDueLanesAsync(10, Ct)).Should().Equal(entry.Lane);
        (await Store.ListDeadLettersAsync(null, 10, Ct)).Single().Entry.DeliveryId.Should().Be(dead.DeliveryId);
        (await Store.ReplayDeadLetterAsync(dead.DeliveryId, Ct)).Should().BeTrue();
    }

    [Fact]
    public async Task An_append_to_an_unreachable_redis_throws()
    {
        using var refused = new RefusedPort();
        using var unreachable = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{refused.Port},abortConnect=false,connectTimeout=200,syncTimeout=500,asyncTimeout=500");
        var store = new RedisMailboxStore(unreachable, _prefix, Time);

        var append = () => store.AppendAsync([Entry("github:1", "us", Start)], Ct);

        await append.Should().ThrowAsync<RedisException>("the accept path must see the failure and answer 503");
    }
}

/// <summary>The same contract on a three-node Redis Cluster, which refuses any script that reaches another node's slot.</summary>
public sealed class RedisClusterMailboxStoreTests(RedisCluster cluster) : MailboxStoreContract, IClassFixture<RedisCluster>
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];

    private protected override IMailboxStore CreateStore() => new RedisMailboxStore(cluster.Connection, _prefix, Time);

    [Fact]
    public async Task The_cluster_really_refuses_a_script_that_reaches_another_node()
    {
        var db = cluster.Connection.GetDatabase();
        cluster.Connection.HashSlot("{a}x").Should().BeGreaterThan(10923, "{a} is on the third node");
        cluster.Connection.HashSlot("{b}y").Should().BeLessThan(5461, "{b} is on the first node");

        var reachOut = () => db.ScriptEvaluateAsync("redis.call('SET', KEYS[1], 1); return redis.call('GET', '{b}y')", ["{a}x"]);

        await reachOut.Should().ThrowAsync<RedisServerException>();
    }

    [Fact]
    public async Task Entries_spread_over_every_node_are_all_found_due()
    {
        var entries = Enumerable.Range(0, 30).Select(i => Entry($"github:{i}", "us", Start)).ToList();
        foreach (var entry in entries)
        {
            await Store.AppendAsync([entry], Ct);
        }

        entries.Select(e => cluster.Connection.HashSlot($"{{{e.Mailbox}}}") * 3 / 16384).Distinct().Should().HaveCount(3);
        (await Store.GetDueLanesAsync(100, Ct)).Should().BeEquivalentTo(entries.Select(e => e.Lane));
        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(30);
    }
}
