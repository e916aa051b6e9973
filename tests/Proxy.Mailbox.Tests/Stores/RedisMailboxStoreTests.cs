using Microsoft.Extensions.Logging;
using Proxy.Testing;
using StackExchange.Redis;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Stores;

public sealed class RedisMailboxStoreTests(RedisServer redis) : MailboxStoreContract, IClassFixture<RedisServer>
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];

    private protected override IMailboxStore CreateStore(MailboxOrdering? ordering = null) => new RedisMailboxStore(redis.Connection!, _prefix, Time, ordering: ordering);

    private protected override Task<long> CountSharedBodiesAsync() => CountKeysAsync(redis.Connection!, $"{_prefix}:{{*}}:b:*");

    internal static async Task<long> CountKeysAsync(IConnectionMultiplexer connection, string pattern)
    {
        long count = 0;
        foreach (var server in connection.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var _ in server.KeysAsync(pattern: pattern))
            {
                count++;
            }
        }

        return count;
    }

    private async Task<ConnectionMultiplexer> AdminAsync() => await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");

    private protected override async Task PassTimeAsync(TimeSpan elapsed)
    {
        await base.PassTimeAsync(elapsed);
        await RedisLeaseClock.AdvanceAsync(redis.Connection!, _prefix, elapsed);
    }

    private RedisKey EntryKey(MailboxEntry entry) => $"{_prefix}:{{{entry.Mailbox}}}:e:{entry.DeliveryId}";

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
    public async Task A_shared_body_whose_entry_hashes_were_all_deleted_by_hand_is_deleted_by_the_repair()
    {
        var orphaned = MailboxEntry.ForRegions("github:7", ["de", "eu", "us"], "POST", "/extensions/github/webhook/",
            [new("X-GitHub-Event", "push")], "orphaned"u8.ToArray(), Start);
        var kept = MailboxEntry.ForRegions("github:7", ["de", "eu", "us"], "POST", "/extensions/github/webhook/",
            [new("X-GitHub-Event", "push")], "kept"u8.ToArray(), Start);
        await Store.AppendAsync(orphaned, Ct);
        await Store.AppendAsync(kept, Ct);
        // An operator's DEL of every entry of the first webhook: no ack or purge will ever release its body.
        await redis.Connection!.GetDatabase().KeyDeleteAsync(orphaned.Select(EntryKey).ToArray());
        foreach (var entry in orphaned)
        {
            await Store.PeekAsync(entry.Lane, 10, Ct);
        }

        (await CountSharedBodiesAsync()).Should().Be(2, "the lanes let go of the ids, but nothing knew the body");

        var repaired = await ((IMailboxIndexRepair)Store).RepairIndexesAsync(Ct);

        repaired.Should().Be(1);
        (await CountSharedBodiesAsync()).Should().Be(1, "the orphaned body is gone, the other webhook's is kept");
        foreach (var entry in kept)
        {
            (await Store.PeekAsync(entry.Lane, 10, Ct)).Single().Body.ToArray().Should().Equal("kept"u8.ToArray());
        }

        (await ((IMailboxIndexRepair)Store).RepairIndexesAsync(Ct)).Should().Be(0, "a body its entries still refer to is left alone");
    }

    [Fact]
    public async Task A_shared_body_that_lost_some_entry_hashes_by_hand_is_counted_again_and_goes_with_its_last_real_entry()
    {
        var webhook = MailboxEntry.ForRegions("github:7", ["de", "eu", "us"], "POST", "/extensions/github/webhook/",
            [new("X-GitHub-Event", "push")], "body"u8.ToArray(), Start);
        await Store.AppendAsync(webhook, Ct);
        await redis.Connection!.GetDatabase().KeyDeleteAsync([EntryKey(webhook[0]), EntryKey(webhook[1])]);

        (await ((IMailboxIndexRepair)Store).RepairIndexesAsync(Ct)).Should().Be(1);
        (await CountSharedBodiesAsync()).Should().Be(1, "us still refers to it");
        (await Store.PeekAsync(webhook[2].Lane, 10, Ct)).Single().Body.ToArray().Should().Equal("body"u8.ToArray());

        (await Store.AckAsync(webhook[2].Lane, webhook[2].DeliveryId, Ct)).Should().BeTrue();
        (await CountSharedBodiesAsync()).Should().Be(0, "the count was set to the one entry left, whose ack released the body");
    }

    [Fact]
    public async Task A_deleted_entry_hash_is_taken_out_of_its_lane_counted_and_logged_and_stats_and_peek_still_answer()
    {
        using var observed = new ObservedStore(redis.Connection!, _prefix, Time);
        var gone = Entry("github:1", "us", Start);
        var next = Entry("github:1", "us", Start.AddSeconds(1));
        await observed.Store.AppendAsync([gone], Ct);
        await observed.Store.AppendAsync([next], Ct);
        await redis.Connection!.GetDatabase().KeyDeleteAsync(EntryKey(gone));

        (await observed.Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(1, 0, Start.AddSeconds(1)));
        (await observed.Store.PeekAsync(gone.Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(next.DeliveryId);
        (await observed.Store.ListMailboxesAsync(10, Ct)).Single().Depth.Should().Be(1);

        var counted = observed.Orphans.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        counted.Value.Should().Be(1);
        counted.Tags.Should().Contain(new KeyValuePair<string, object?>("error.type", "missing")).And.Contain(new KeyValuePair<string, object?>("proxy.region", "us"));
        observed.Log.Collector.GetSnapshot().Should().ContainSingle(r => r.Level == LogLevel.Warning && r.Message.Contains(gone.DeliveryId));
        (await observed.Store.ListDeadLettersAsync(null, 10, Ct)).Should().BeEmpty("there is nothing left to keep");
    }

    [Fact]
    public async Task An_orphan_at_the_head_no_longer_holds_the_oldest_index_position()
    {
        var gone = Entry("github:1", "us", Start);
        var other = Entry("github:2", "us", Start);
        await Store.AppendAsync([gone], Ct);
        await Store.AppendAsync([other], Ct);
        await redis.Connection!.GetDatabase().KeyDeleteAsync(EntryKey(gone));

        (await Store.GetDueLanesAsync(1, Ct)).Should().Equal(gone.Lane);
        (await Store.TryClaimAsync(gone.Lane, TimeSpan.FromSeconds(30), Ct)).Should().BeNull("the lane held nothing but the orphan");

        (await Store.GetDueLanesAsync(1, Ct)).Should().Equal(other.Lane);
    }

    [Theory]
    [InlineData("n", "soon")]
    [InlineData("a", "-1")]
    [InlineData("ra", "1e300")]
    [InlineData("h", "not json")]
    [InlineData("h", "[[\"X-Only-A-Name\"]]")]
    [InlineData("b", null)]
    [InlineData("mt", null)]
    public async Task A_damaged_entry_becomes_a_dead_letter_and_its_lane_moves_on(string field, string? value)
    {
        using var observed = new ObservedStore(redis.Connection!, _prefix, Time);
        var damaged = Entry("github:1", "us", Start);
        var next = Entry("github:1", "us", Start);
        await observed.Store.AppendAsync([damaged], Ct);
        await observed.Store.AppendAsync([next], Ct);
        var db = redis.Connection!.GetDatabase();
        if (value is null)
        {
            await db.HashDeleteAsync(EntryKey(damaged), field);
        }
        else
        {
            await db.HashSetAsync(EntryKey(damaged), field, value);
        }

        (await observed.Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(1, 1, Start));
        var lease = await observed.Store.TryClaimAsync(damaged.Lane, TimeSpan.FromSeconds(30), Ct);
        lease.Should().NotBeNull("the next entry is the head now");
        (await observed.Store.PeekAsync(damaged.Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(next.DeliveryId);

        var letter = (await observed.Store.ListDeadLettersAsync(null, 10, Ct)).Single();
        letter.Entry.DeliveryId.Should().Be(damaged.DeliveryId);
        letter.Entry.Region.Should().Be("us");
        letter.Cause.Reason.Should().Be(OrphanReasons.Damaged);
        (await observed.Store.ListDeadLettersAsync(damaged.Mailbox, 10, Ct)).Should().ContainSingle();
        observed.Orphans.GetMeasurementSnapshot().Should().ContainSingle()
            .Which.Tags.Should().Contain(new KeyValuePair<string, object?>("error.type", "damaged"));
    }

    [Fact]
    public async Task A_lease_runs_out_on_the_redis_clock_whatever_the_replicas_clocks_say()
    {
        var entry = Entry("github:1", "us", Start);
        await Store.AppendAsync([entry], Ct);
        var lease = (await Store.TryClaimAsync(entry.Lane, TimeSpan.FromSeconds(30), Ct))!;
        var aheadByTenMinutes = new RedisMailboxStore(redis.Connection!, _prefix, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start.AddMinutes(10)));

        Time.Advance(TimeSpan.FromHours(1));
        (await Open().TryClaimAsync(entry.Lane, TimeSpan.FromSeconds(30), Ct)).Should().BeNull("the app's clock does not end a Redis lease");
        (await aheadByTenMinutes.TryClaimAsync(entry.Lane, TimeSpan.FromSeconds(30), Ct)).Should().BeNull("nor does a replica's clock that runs ahead");

        // The last renewal of a replica about to die: from here only Redis's clock moves.
        (await Store.RenewAsync(lease, TimeSpan.FromMilliseconds(50), Ct)).Should().NotBeNull();
        MailboxLease? taken = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(10); taken is null && DateTime.UtcNow < deadline; await Task.Delay(20, Ct))
        {
            taken = await aheadByTenMinutes.TryClaimAsync(entry.Lane, TimeSpan.FromSeconds(30), Ct);
        }

        taken.Should().NotBeNull("Redis expired the dead replica's lease by itself");
        (await Store.RenewAsync(lease, TimeSpan.FromSeconds(30), Ct)).Should().BeNull("the lease was lost");
        (await Store.RescheduleAsync(lease, entry.DeliveryId, Start.AddHours(2), Ct)).Should().BeFalse();
    }

    [Fact]
    public async Task A_lease_written_without_an_expiry_by_an_older_version_is_honoured_then_left_to_redis()
    {
        var entry = Entry("github:1", "us", Start);
        await Store.AppendAsync([entry], Ct);
        var db = redis.Connection!.GetDatabase();
        RedisKey leaseKey = $"{_prefix}:{{{entry.Mailbox}}}:l:{entry.Region}";
        await db.StringSetAsync(leaseKey, "oldtoken|" + Start.AddSeconds(30).ToUnixTimeMilliseconds());

        (await Store.TryClaimAsync(entry.Lane, TimeSpan.FromSeconds(30), Ct)).Should().BeNull("the old lease still holds on the app's clock");
        (await db.KeyTimeToLiveAsync(leaseKey)).Should().NotBeNull().And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(30));

        await PassTimeAsync(TimeSpan.FromSeconds(31));
        (await Store.TryClaimAsync(entry.Lane, TimeSpan.FromSeconds(30), Ct)).Should().NotBeNull();
    }

    [Fact]
    public async Task Appends_waiting_while_a_flush_runs_go_together_in_the_next_one()
    {
        var store = (RedisMailboxStore)Store;
        await store.AppendAsync([Entry("github:0", "us", Start)], Ct);
        var before = store.Flushes;
        var scriptsBefore = store.AppendScripts;
        using var admin = await AdminAsync();

        // Redis holds every write for 300 ms: the first flush waits, and the 50 appends behind it queue up.
        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CLIENT", "PAUSE", "300", "WRITE");
        var appends = Enumerable.Range(1, 50).Select(i => store.AppendAsync([Entry($"github:{i % 5}", "us", Start.AddSeconds(i))], Ct)).ToArray();
        await Task.WhenAll(appends);

        (store.Flushes - before).Should().BeInRange(1, 2, "the first append may have gone alone; every later one went in the next flush");
        (store.AppendScripts - scriptsBefore).Should().Be(store.Flushes - before, "a flush writes all its webhooks, of 5 mailboxes, in one script call");
        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(51);
    }

    [Fact]
    public async Task A_flush_that_redis_refuses_fails_every_caller_in_it_and_the_next_flush_works()
    {
        using var admin = await AdminAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await Store.AppendAsync([Entry("github:0", "us", Start)], Ct);
        await server.ConfigSetAsync("maxmemory", "1");
        try
        {
            // Out of memory with noeviction: Redis refuses every write.
            var appends = Enumerable.Range(0, 20).Select(i => Store.AppendAsync([Entry($"github:{i % 3}", "us", Start)], Ct)).ToArray();
            foreach (var append in appends)
            {
                await append.Invoking(a => a).Should().ThrowAsync<RedisServerException>().WithMessage("*OOM*");
            }
        }
        finally
        {
            await server.ConfigSetAsync("maxmemory", "0");
        }

        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(1, "nothing of a refused flush was stored");
        await Store.AppendAsync([Entry("github:1", "us", Start)], Ct);
        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(2);
    }

    [Fact]
    public async Task An_append_refused_in_a_shared_flush_fails_alone()
    {
        var stored = Entry("github:1", "us", Start);
        await Store.AppendAsync([stored], Ct);

        var good = Enumerable.Range(0, 10).Select(i => Store.AppendAsync([Entry($"github:{i}", "us", Start)], Ct)).ToList();
        var duplicate = Store.AppendAsync([stored], Ct);
        good.AddRange(Enumerable.Range(10, 10).Select(i => Store.AppendAsync([Entry($"github:{i}", "us", Start)], Ct)));

        await duplicate.Invoking(a => a).Should().ThrowAsync<RedisServerException>().WithMessage("*duplicate delivery id*");
        await Task.WhenAll(good);
        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(21);
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

    private protected override IMailboxStore CreateStore(MailboxOrdering? ordering = null) => new RedisMailboxStore(cluster.Connection, _prefix, Time, ordering: ordering);

    private protected override Task<long> CountSharedBodiesAsync() => RedisMailboxStoreTests.CountKeysAsync(cluster.Connection, $"{_prefix}:{{*}}:b:*");

    private protected override async Task PassTimeAsync(TimeSpan elapsed)
    {
        await base.PassTimeAsync(elapsed);
        await RedisLeaseClock.AdvanceAsync(cluster.Connection, _prefix, elapsed);
    }

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
    public async Task Appends_of_one_flush_to_every_node_are_each_written_in_their_own_slot_and_refused_alone()
    {
        var store = (RedisMailboxStore)Store;
        var stored = Entry("github:0", "us", Start);
        await store.AppendAsync([stored], Ct);

        // Queued together (the writer takes what waits), over 30 mailboxes on all three nodes, with a duplicate among them.
        var entries = Enumerable.Range(0, 60).Select(i => Entry($"github:{i % 30}", "us", Start.AddSeconds(i))).ToList();
        var appends = entries.Select(e => store.AppendAsync([e], Ct)).ToList();
        var duplicate = store.AppendAsync([stored], Ct);
        await Task.WhenAll(appends);

        await duplicate.Invoking(a => a).Should().ThrowAsync<RedisServerException>().WithMessage("*duplicate delivery id*");
        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(61);
        foreach (var lane in entries.GroupBy(e => e.Lane))
        {
            (await Store.PeekAsync(lane.Key, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(
                (lane.Key.Mailbox == stored.Mailbox ? [stored.DeliveryId] : Array.Empty<string>()).Concat(lane.Select(e => e.DeliveryId)));
        }
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
