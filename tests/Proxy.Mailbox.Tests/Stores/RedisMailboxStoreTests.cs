using Proxy.Testing;
using StackExchange.Redis;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Stores;

public sealed class RedisMailboxStoreTests(RedisServer redis) : MailboxStoreContract, IClassFixture<RedisServer>
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];

    protected override IMailboxStore CreateStore() => new RedisMailboxStore(redis.Connection!, _prefix, Time);

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
        using var unreachable = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{RedisServer.FreeTcpPort()},abortConnect=false,connectTimeout=200,syncTimeout=500,asyncTimeout=500");
        var store = new RedisMailboxStore(unreachable, _prefix, Time);

        var append = () => store.AppendAsync([Entry("github:1", "us", Start)], Ct);

        await append.Should().ThrowAsync<RedisException>("the accept path must see the failure and answer 503");
    }
}

/// <summary>The same contract on a Redis in cluster mode, which refuses any command or script that spans two slots.</summary>
public sealed class RedisClusterMailboxStoreTests(RedisClusterNode cluster) : MailboxStoreContract, IClassFixture<RedisClusterNode>
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];

    protected override IMailboxStore CreateStore() => new RedisMailboxStore(cluster.Connection, _prefix, Time);

    [Fact]
    public async Task The_node_really_refuses_scripts_that_span_slots()
    {
        var db = cluster.Connection.GetDatabase();

        var crossSlot = () => db.ScriptEvaluateAsync("redis.call('SET', KEYS[1], 1); redis.call('SET', KEYS[2], 1)", ["{a}x", "{b}y"]);

        await crossSlot.Should().ThrowAsync<RedisServerException>().WithMessage("*CROSSSLOT*");
    }
}
