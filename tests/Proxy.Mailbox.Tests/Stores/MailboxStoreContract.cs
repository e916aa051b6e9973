using System.Text;
using Microsoft.Extensions.Time.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Stores;

/// <summary>The behaviour every <see cref="IMailboxStore"/> must have; one subclass per store.</summary>
public abstract class MailboxStoreContract : IAsyncLifetime
{
    private static readonly TimeSpan s_lease = TimeSpan.FromSeconds(30);
    private readonly List<IMailboxStore> _stores = [];
    private IMailboxStore? _store;

    protected FakeTimeProvider Time { get; } = new(Start);

    /// <summary>The store under test.</summary>
    private protected IMailboxStore Store => _store ??= Open();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Another instance over the same data: a second replica, or the same node after a restart. Without an ordering
    /// every lane is strict.
    /// </summary>
    private protected abstract IMailboxStore CreateStore(MailboxOrdering? ordering = null);

    private protected IMailboxStore Open(MailboxOrdering? ordering = null)
    {
        var store = CreateStore(ordering);
        _stores.Add(store);
        return store;
    }

    /// <summary>The shipped defaults: GitHub, GitLab and Bitbucket due-head, everything else (jira) strict.</summary>
    private static MailboxOrdering Defaults => MailboxOrdering.Of(MailboxOrdering.Defaults());

    /// <summary>
    /// Lets time pass for the app (its <see cref="TimeProvider"/>) and for the store's own clock where it keeps one
    /// (Redis expires leases itself).
    /// </summary>
    private protected virtual Task PassTimeAsync(TimeSpan elapsed)
    {
        Time.Advance(elapsed);
        return Task.CompletedTask;
    }

    /// <summary>Shared bodies kept by the store (SQLite rows of <c>mailbox_bodies</c>, Redis <c>:b:</c> hashes).</summary>
    private protected abstract Task<long> CountSharedBodiesAsync();

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            (store as IDisposable)?.Dispose();
        }

        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Append_keeps_each_lane_in_acceptance_order()
    {
        var expected = new Dictionary<MailboxLane, List<string>>();
        for (var i = 0; i < 6; i++)
        {
            var mailbox = i % 2 == 0 ? "github:1" : "github:2";
            var batch = new[] { Entry(mailbox, "us", Start.AddSeconds(i)), Entry(mailbox, "de", Start.AddSeconds(i)) };
            await Store.AppendAsync(batch, Ct);
            foreach (var entry in batch)
            {
                expected.TryAdd(entry.Lane, []);
                expected[entry.Lane].Add(entry.DeliveryId);
            }
        }

        foreach (var (lane, ids) in expected)
        {
            var entries = await Store.PeekAsync(lane, 100, Ct);
            entries.Select(e => e.DeliveryId).Should().Equal(ids, $"lane {lane} is FIFO");
        }
    }

    [Fact]
    public async Task Append_stores_all_entries_of_a_call_or_none()
    {
        var first = Entry("github:1", "us", Start);
        await Store.AppendAsync([first], Ct);

        var fresh = Entry("github:1", "de", Start);
        var clash = Entry("github:1", "eu", Start) with { DeliveryId = first.DeliveryId };
        var append = () => Store.AppendAsync([fresh, clash], Ct);

        await append.Should().ThrowAsync<Exception>("a delivery id may be stored once");
        (await Store.PeekAsync(new MailboxLane("github:1", "de"), 10, Ct)).Should().BeEmpty("the batch failed as a whole");
        (await Store.PeekAsync(new MailboxLane("github:1", "eu"), 10, Ct)).Should().BeEmpty();
        (await Store.PeekAsync(first.Lane, 10, Ct)).Should().ContainSingle();
    }

    [Fact]
    public async Task Append_rejects_a_call_that_spans_mailboxes()
    {
        var append = () => Store.AppendAsync([Entry("github:1", "us", Start), Entry("github:2", "us", Start)], Ct);

        await append.Should().ThrowAsync<ArgumentException>();
        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(0);
    }

    [Fact]
    public async Task Entries_come_back_byte_for_byte()
    {
        var entry = Entry("gitlab:77:5", "us-east-1", Start, traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") with
        {
            Method = "PUT",
            PathAndQuery = "/extensions/gitlab/webhook/?a=1&b=%2F%C3%A9&b=2",
            Headers =
            [
                new("Content-Type", "application/octet-stream"),
                new("X-Repeated", "one"),
                new("X-Repeated", "two"),
                new("X-Unicode", "Grüße \"quoted\" \\ back"),
            ],
            Body = AwkwardBytes(),
        };

        await Store.AppendAsync([entry], Ct);
        var stored = (await Open().PeekAsync(entry.Lane, 1, Ct)).Single();

        stored.Body.ToArray().Should().Equal(entry.Body.ToArray());
        stored.Headers.Should().Equal(entry.Headers);
        stored.Should().BeEquivalentTo(entry, o => o.Excluding(e => e.Body).Excluding(e => e.Headers));
    }

    [Fact]
    public async Task A_claimed_lane_is_not_handed_to_another_replica_until_the_lease_expires()
    {
        var entry = Entry("github:1", "us", Start);
        await Store.AppendAsync([entry], Ct);
        var replica = Open();

        (await replica.GetDueLanesAsync(10, Ct)).Should().Equal(entry.Lane);
        var lease = await Store.TryClaimAsync(entry.Lane, s_lease, Ct);
        lease.Should().NotBeNull();

        (await replica.GetDueLanesAsync(10, Ct)).Should().BeEmpty("the lane is leased");
        (await replica.TryClaimAsync(entry.Lane, s_lease, Ct)).Should().BeNull();

        await PassTimeAsync(s_lease - TimeSpan.FromSeconds(1));
        (await replica.TryClaimAsync(entry.Lane, s_lease, Ct)).Should().BeNull("the lease still holds");

        await PassTimeAsync(TimeSpan.FromSeconds(2));
        (await replica.GetDueLanesAsync(10, Ct)).Should().Equal(entry.Lane);
        var taken = await replica.TryClaimAsync(entry.Lane, s_lease, Ct);
        taken.Should().NotBeNull("an expired lease is free for the taking");

        (await Store.RescheduleAsync(lease!, entry.DeliveryId, Time.GetUtcNow().AddMinutes(5), Ct)).Should().BeFalse("the first owner lost its lease");
        (await Store.RenewAsync(lease!, s_lease, Ct)).Should().BeNull();
        (await replica.RescheduleAsync(taken!, entry.DeliveryId, Time.GetUtcNow().AddMinutes(5), Ct)).Should().BeTrue();
    }

    [Fact]
    public async Task A_renewed_lease_holds_past_its_first_expiry()
    {
        var entry = Entry("github:1", "us", Start);
        await Store.AppendAsync([entry], Ct);
        var lease = (await Store.TryClaimAsync(entry.Lane, s_lease, Ct))!;

        await PassTimeAsync(TimeSpan.FromSeconds(20));
        var renewed = await Store.RenewAsync(lease, s_lease, Ct);
        await PassTimeAsync(TimeSpan.FromSeconds(20));

        renewed.Should().NotBeNull();
        renewed!.ExpiresAt.Should().Be(Start.AddSeconds(50));
        (await Open().TryClaimAsync(entry.Lane, s_lease, Ct)).Should().BeNull();
    }

    [Fact]
    public async Task Reschedule_counts_an_attempt_and_holds_the_lane_back_until_then()
    {
        var head = Entry("github:1", "us", Start);
        var second = Entry("github:1", "us", Start);
        await Store.AppendAsync([head], Ct);
        await Store.AppendAsync([second], Ct);
        var lease = (await Store.TryClaimAsync(head.Lane, s_lease, Ct))!;

        (await Store.RescheduleAsync(lease, head.DeliveryId, Start.AddMinutes(4.2), Ct)).Should().BeTrue();
        await Store.ReleaseAsync(lease, Ct);

        var stored = (await Store.PeekAsync(head.Lane, 1, Ct)).Single();
        stored.Attempts.Should().Be(1);
        stored.NextAttemptAt.Should().Be(Start.AddMinutes(4.2));
        (await Store.GetDueLanesAsync(10, Ct)).Should().BeEmpty("the head is in backoff and blocks its lane");
        (await Store.TryClaimAsync(head.Lane, s_lease, Ct)).Should().BeNull();

        await PassTimeAsync(TimeSpan.FromMinutes(4.2));
        (await Store.GetDueLanesAsync(10, Ct)).Should().Equal(head.Lane);
    }

    [Fact]
    public async Task Postpone_only_ever_moves_the_next_attempt_later()
    {
        var entry = Entry("github:1", "us", Start);
        await Store.AppendAsync([entry], Ct);
        var lease = (await Store.TryClaimAsync(entry.Lane, s_lease, Ct))!;
        await Store.RescheduleAsync(lease, entry.DeliveryId, Start.AddMinutes(10), Ct);

        await Store.PostponeAsync(lease, entry.DeliveryId, Start.AddMinutes(5), Ct);
        (await Store.PeekAsync(entry.Lane, 1, Ct)).Single().NextAttemptAt.Should().Be(Start.AddMinutes(10));

        await Store.PostponeAsync(lease, entry.DeliveryId, Start.AddMinutes(30), Ct);
        var stored = (await Store.PeekAsync(entry.Lane, 1, Ct)).Single();
        stored.NextAttemptAt.Should().Be(Start.AddMinutes(30));
        stored.Attempts.Should().Be(1, "postponing is not an attempt");
    }

    [Fact]
    public async Task Ack_deletes_the_entry_and_the_next_one_becomes_head()
    {
        var first = Entry("github:1", "us", Start);
        var second = Entry("github:1", "us", Start);
        await Store.AppendAsync([first], Ct);
        await Store.AppendAsync([second], Ct);

        (await Store.AckAsync(first.Lane, first.DeliveryId, Ct)).Should().BeTrue();
        (await Store.AckAsync(first.Lane, first.DeliveryId, Ct)).Should().BeFalse("it is gone");

        (await Store.PeekAsync(first.Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(second.DeliveryId);
    }

    [Fact]
    public async Task Ack_many_deletes_the_delivered_entries_of_a_lane_and_says_which_were_not_there()
    {
        var entries = Enumerable.Range(0, 4).Select(i => Entry("github:1", "us", Start.AddSeconds(i))).ToList();
        var shared = MailboxEntry.ForRegions("github:1", ["eu", "us"], "POST", "/x", [new("X-A", "1")], new byte[] { 1, 2, 3 }, Start);
        foreach (var entry in entries)
        {
            await Store.AppendAsync([entry], Ct);
        }

        await Store.AppendAsync(shared, Ct);
        await Store.AckAsync(entries[1].Lane, entries[1].DeliveryId, Ct);
        var us = shared.Single(e => e.Region == "us");

        var acked = await Store.AckManyAsync(entries[0].Lane, [entries[0].DeliveryId, entries[1].DeliveryId, entries[2].DeliveryId, us.DeliveryId], Ct);

        acked.Should().Equal([true, false, true, true], "the second was acknowledged before");
        (await Store.PeekAsync(entries[0].Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(entries[3].DeliveryId);
        (await Store.PeekAsync(new MailboxLane("github:1", "eu"), 10, Ct)).Single().Body.ToArray().Should().Equal([1, 2, 3], "the other region's entry keeps the shared body");
        (await Store.AckManyAsync(entries[0].Lane, [], Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task An_emptied_lane_leaves_the_mailbox_list_when_released()
    {
        var entry = Entry("github:1", "us", Start);
        await Store.AppendAsync([entry], Ct);
        var lease = (await Store.TryClaimAsync(entry.Lane, s_lease, Ct))!;
        await Store.AckAsync(entry.Lane, entry.DeliveryId, Ct);
        await Store.ReleaseAsync(lease, Ct);

        (await Store.ListMailboxesAsync(100, Ct)).Should().BeEmpty();
        (await Store.GetDueLanesAsync(10, Ct)).Should().BeEmpty();

        var later = Entry("github:1", "us", Start);
        await Store.AppendAsync([later], Ct);
        (await Store.GetDueLanesAsync(10, Ct)).Should().Equal([entry.Lane], "a lane comes back with its next entry");
    }

    [Fact]
    public async Task Dead_letters_keep_the_entry_with_its_reason_and_last_status()
    {
        var dropped = Entry("github:1", "us", Start);
        var next = Entry("github:1", "us", Start);
        var other = Entry("github:2", "us", Start);
        await Store.AppendAsync([dropped], Ct);
        await Store.AppendAsync([next], Ct);
        await Store.AppendAsync([other], Ct);
        await PassTimeAsync(TimeSpan.FromMinutes(1));

        (await Store.DeadLetterAsync(dropped.Lane, dropped.DeliveryId, new DeadLetterCause("not_found", 404, null), Ct)).Should().BeTrue();
        (await Store.DeadLetterAsync(other.Lane, other.DeliveryId, new DeadLetterCause("attempts_exceeded", null, "timeout"), Ct)).Should().BeTrue();
        (await Store.DeadLetterAsync(other.Lane, other.DeliveryId, new DeadLetterCause("max_age", null, null), Ct)).Should().BeFalse("it already left its lane");

        (await Store.PeekAsync(dropped.Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(next.DeliveryId);
        var all = await Store.ListDeadLettersAsync(null, 100, Ct);
        all.Select(d => d.Entry.DeliveryId).Should().BeEquivalentTo([dropped.DeliveryId, other.DeliveryId]);
        var letter = all.Single(d => d.Entry.DeliveryId == dropped.DeliveryId);
        letter.Cause.Should().Be(new DeadLetterCause("not_found", 404, null));
        letter.DeadAt.Should().Be(Start.AddMinutes(1));
        letter.Entry.Body.ToArray().Should().Equal(dropped.Body.ToArray());
        all.Single(d => d.Entry.DeliveryId == other.DeliveryId).Cause.Should().Be(new DeadLetterCause("attempts_exceeded", null, "timeout"));

        (await Store.ListDeadLettersAsync("github:2", 100, Ct)).Select(d => d.Entry.DeliveryId).Should().Equal(other.DeliveryId);
        (await Store.GetStatsAsync(Ct)).DeadLetters.Should().Be(2);
    }

    [Fact]
    public async Task Replay_moves_a_dead_letter_to_the_tail_of_its_lane_with_attempts_reset()
    {
        var dead = Entry("github:1", "us", Start);
        var waiting = Entry("github:1", "us", Start);
        await Store.AppendAsync([dead], Ct);
        await Store.AppendAsync([waiting], Ct);
        var lease = (await Store.TryClaimAsync(dead.Lane, s_lease, Ct))!;
        await Store.RescheduleAsync(lease, dead.DeliveryId, Start.AddMinutes(4), Ct);
        await Store.DeadLetterAsync(dead.Lane, dead.DeliveryId, new DeadLetterCause("forbidden", 403, null), Ct);
        await Store.ReleaseAsync(lease, Ct);
        await PassTimeAsync(TimeSpan.FromMinutes(10));

        (await Store.ReplayDeadLetterAsync(dead.DeliveryId, Ct)).Should().BeTrue();
        (await Store.ReplayDeadLetterAsync(dead.DeliveryId, Ct)).Should().BeFalse("it is no dead letter any more");

        var lane = await Store.PeekAsync(dead.Lane, 10, Ct);
        lane.Select(e => e.DeliveryId).Should().Equal(waiting.DeliveryId, dead.DeliveryId);
        lane[1].Attempts.Should().Be(0);
        lane[1].NextAttemptAt.Should().Be(Start.AddMinutes(10));
        (await Store.ListDeadLettersAsync(null, 100, Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task Replay_brings_an_emptied_lane_back()
    {
        var dead = Entry("github:1", "us", Start);
        await Store.AppendAsync([dead], Ct);
        var lease = (await Store.TryClaimAsync(dead.Lane, s_lease, Ct))!;
        await Store.DeadLetterAsync(dead.Lane, dead.DeliveryId, new DeadLetterCause("conflict", 409, null), Ct);
        await Store.ReleaseAsync(lease, Ct);
        (await Store.GetDueLanesAsync(10, Ct)).Should().BeEmpty();

        await Store.ReplayDeadLetterAsync(dead.DeliveryId, Ct);

        (await Store.GetDueLanesAsync(10, Ct)).Should().Equal(dead.Lane);
    }

    [Fact]
    public async Task Purge_deletes_a_dead_letter_for_good()
    {
        var entry = Entry("github:1", "us", Start);
        await Store.AppendAsync([entry], Ct);
        await Store.DeadLetterAsync(entry.Lane, entry.DeliveryId, new DeadLetterCause("bad_request", 400, null), Ct);

        (await Store.PurgeDeadLetterAsync(entry.DeliveryId, Ct)).Should().BeTrue();
        (await Store.PurgeDeadLetterAsync(entry.DeliveryId, Ct)).Should().BeFalse();
        (await Store.ReplayDeadLetterAsync(entry.DeliveryId, Ct)).Should().BeFalse();
        (await Store.ListDeadLettersAsync(null, 100, Ct)).Should().BeEmpty();
        (await Store.GetStatsAsync(Ct)).DeadLetters.Should().Be(0);
    }

    [Fact]
    public async Task Mailbox_list_and_stats_report_depth_and_oldest_head()
    {
        await Store.AppendAsync([Entry("github:1", "us", Start), Entry("github:1", "de", Start)], Ct);
        await Store.AppendAsync([Entry("github:1", "us", Start.AddMinutes(1))], Ct);
        await Store.AppendAsync([Entry("jira:9", "us", Start.AddMinutes(2))], Ct);

        var list = await Store.ListMailboxesAsync(100, Ct);

        list.Select(s => (s.Lane.ToString(), s.Depth, s.OldestReceivedAt)).Should().BeEquivalentTo(
        [
            ("us/github:1", 2L, Start),
            ("de/github:1", 1L, Start),
            ("us/jira:9", 1L, Start.AddMinutes(2)),
        ]);
        list.Should().OnlyContain(s => s.HeadAttempts == 0);
        (await Store.ListMailboxesAsync(1, Ct)).Should().HaveCount(1);
        (await Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(4, 0, Start));
    }

    [Fact]
    public async Task Stats_of_an_empty_store_have_no_oldest()
    {
        (await Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(0, 0, null));
    }

    [Fact]
    public async Task A_new_store_instance_sees_entries_leases_and_dead_letters()
    {
        var kept = Entry("github:1", "us", Start, body: "kept");
        var dead = Entry("github:2", "us", Start, body: "dead");
        await Store.AppendAsync([kept], Ct);
        await Store.AppendAsync([dead], Ct);
        await Store.DeadLetterAsync(dead.Lane, dead.DeliveryId, new DeadLetterCause("not_found", 404, null), Ct);
        var lease = await Store.TryClaimAsync(kept.Lane, s_lease, Ct);
        lease.Should().NotBeNull();
        (Store as IDisposable)?.Dispose();

        var restarted = Open();

        (await restarted.PeekAsync(kept.Lane, 10, Ct)).Single().Body.ToArray().Should().Equal("kept"u8.ToArray());
        (await restarted.TryClaimAsync(kept.Lane, s_lease, Ct)).Should().BeNull("the lease survives too");
        (await restarted.ListDeadLettersAsync(null, 10, Ct)).Single().Entry.DeliveryId.Should().Be(dead.DeliveryId);
        (await restarted.GetStatsAsync(Ct)).Should().Be(new MailboxStats(1, 1, Start));
    }

    [Fact]
    public async Task Concurrent_appends_are_all_stored_and_each_lane_keeps_the_order_of_its_caller()
    {
        // 8 mailboxes appended at the same time, each by one caller in sequence, each webhook for two regions.
        const int Mailboxes = 8;
        const int PerMailbox = 25;
        var appended = new List<string>[Mailboxes];
        await Task.WhenAll(Enumerable.Range(0, Mailboxes).Select(m => Task.Run(async () =>
        {
            appended[m] = [];
            for (var i = 0; i < PerMailbox; i++)
            {
                var entries = MailboxEntry.ForRegions($"github:{m}", ["de", "us"], "POST", "/extensions/github/webhook/",
                    [new("X-GitHub-Event", "push")], Encoding.UTF8.GetBytes($"{m}/{i}"), Start.AddSeconds(i));
                await Store.AppendAsync(entries, Ct);
                appended[m].Add($"{m}/{i}");
            }
        }, Ct)));

        var reopened = Open();
        for (var m = 0; m < Mailboxes; m++)
        {
            foreach (var region in new[] { "de", "us" })
            {
                var lane = await reopened.PeekAsync(new MailboxLane($"github:{m}", region), PerMailbox + 1, Ct);
                lane.Select(e => Encoding.UTF8.GetString(e.Body.Span)).Should().Equal(appended[m], $"lane github:{m}/{region} has every append, in order");
                lane.Should().OnlyContain(e => e.Headers.Single().Value == "push");
            }
        }

        (await reopened.GetStatsAsync(Ct)).Pending.Should().Be(Mailboxes * PerMailbox * 2);
    }

    [Fact]
    public async Task A_webhook_for_three_regions_keeps_one_body_until_its_last_entry_is_delivered_or_purged()
    {
        var body = AwkwardBytes();
        var delivered = MailboxEntry.ForRegions("github:7", ["de", "eu", "us"], "POST", "/extensions/github/webhook/?a=1",
            [new("Content-Type", "application/json"), new("X-GitHub-Event", "push")], body, Start);
        var kept = MailboxEntry.ForRegions("github:8", ["de", "eu", "us"], "POST", "/extensions/github/webhook/",
            [new("X-GitHub-Event", "issues")], "kept"u8.ToArray(), Start);
        await Store.AppendAsync(delivered, Ct);
        await Store.AppendAsync(kept, Ct);

        (await CountSharedBodiesAsync()).Should().Be(2, "one body per webhook, not one per region");
        foreach (var entry in delivered)
        {
            var read = (await Store.PeekAsync(entry.Lane, 10, Ct)).Single();
            read.Body.ToArray().Should().Equal(body, $"region {entry.Region} reads the whole body");
            read.Headers.Should().Equal(entry.Headers);
            read.PathAndQuery.Should().Be("/extensions/github/webhook/?a=1");
        }

        (await Store.AckAsync(delivered[0].Lane, delivered[0].DeliveryId, Ct)).Should().BeTrue();
        (await Store.AckAsync(delivered[1].Lane, delivered[1].DeliveryId, Ct)).Should().BeTrue();
        (await CountSharedBodiesAsync()).Should().Be(2, "us still needs the first body");
        (await Store.PeekAsync(delivered[2].Lane, 10, Ct)).Single().Body.ToArray().Should().Equal(body);
        (await Store.AckAsync(delivered[2].Lane, delivered[2].DeliveryId, Ct)).Should().BeTrue();
        (await CountSharedBodiesAsync()).Should().Be(1, "the first body went with its last entry");

        // A dead letter keeps the body as long as it exists, replayed or not.
        (await Store.AckAsync(kept[0].Lane, kept[0].DeliveryId, Ct)).Should().BeTrue();
        (await Store.DeadLetterAsync(kept[1].Lane, kept[1].DeliveryId, new DeadLetterCause("not_found", 404, null), Ct)).Should().BeTrue();
        (await Store.AckAsync(kept[2].Lane, kept[2].DeliveryId, Ct)).Should().BeTrue();
        (await CountSharedBodiesAsync()).Should().Be(1);
        var letter = (await Store.ListDeadLettersAsync("github:8", 10, Ct)).Single();
        letter.Entry.Body.ToArray().Should().Equal("kept"u8.ToArray());
        letter.Entry.Headers.Should().Equal(kept[1].Headers);
        (await Store.ListDeadLettersAsync(null, 10, Ct)).Single().Entry.Body.ToArray().Should().Equal("kept"u8.ToArray());
        (await Store.ReplayDeadLetterAsync(kept[1].DeliveryId, Ct)).Should().BeTrue();
        (await Store.PeekAsync(kept[1].Lane, 10, Ct)).Single().Body.ToArray().Should().Equal("kept"u8.ToArray());
        (await Store.DeadLetterAsync(kept[1].Lane, kept[1].DeliveryId, new DeadLetterCause("not_found", 404, null), Ct)).Should().BeTrue();
        (await CountSharedBodiesAsync()).Should().Be(1);
        (await Store.PurgeDeadLetterAsync(kept[1].DeliveryId, Ct)).Should().BeTrue();
        (await CountSharedBodiesAsync()).Should().Be(0, "the body went with the purged dead letter, its last reference");
    }

    [Fact]
    public async Task A_webhook_for_one_region_keeps_its_body_in_its_entry()
    {
        var entry = Entry("github:1", "us", Start, body: "alone");
        await Store.AppendAsync([entry], Ct);

        (await CountSharedBodiesAsync()).Should().Be(0);
        (await Store.PeekAsync(entry.Lane, 10, Ct)).Single().Body.ToArray().Should().Equal("alone"u8.ToArray());
    }

    [Fact]
    public async Task Due_head_a_failing_head_does_not_block_later_github_entries_it_does_for_a_strict_provider()
    {
        var store = Open(Defaults);
        var github = new[] { Entry("github:1", "us", Start), Entry("github:1", "us", Start), Entry("github:1", "us", Start) };
        var jira = new[] { Entry("jira:1", "us", Start), Entry("jira:1", "us", Start), Entry("jira:1", "us", Start) };
        foreach (var entry in github.Concat(jira))
        {
            await store.AppendAsync([entry], Ct);
        }

        // Each lane's head fails once and goes into backoff.
        foreach (var head in new[] { github[0], jira[0] })
        {
            var lease = (await store.TryClaimAsync(head.Lane, s_lease, Ct))!;
            (await store.RescheduleAsync(lease, head.DeliveryId, Start.AddMinutes(4.2), Ct)).Should().BeTrue();
            await store.ReleaseAsync(lease, Ct);
        }

        (await store.GetDueLanesAsync(10, Ct)).Should().Equal([github[0].Lane], "the github lane has due entries behind its failing head; the jira lane's head blocks it");
        (await store.TryClaimAsync(jira[0].Lane, s_lease, Ct)).Should().BeNull("a strict lane is due only when its head is");
        (await store.PeekDueAsync(jira[0].Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal([jira[1].DeliveryId, jira[2].DeliveryId],
            "peeking for due entries does not change the ordering; the drainer of a strict lane never asks");
        var claimed = await store.TryClaimAsync(github[0].Lane, s_lease, Ct);
        claimed.Should().NotBeNull("a due-head lane is due when any of its entries is");
        (await store.PeekDueAsync(github[0].Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(github[1].DeliveryId, github[2].DeliveryId);
        (await store.PeekAsync(github[0].Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(github.Select(e => e.DeliveryId), "the lane keeps its order");

        (await store.AckAsync(github[1].Lane, github[1].DeliveryId, Ct)).Should().BeTrue();
        (await store.AckAsync(github[2].Lane, github[2].DeliveryId, Ct)).Should().BeTrue();
        await store.ReleaseAsync(claimed!, Ct);

        (await store.GetDueLanesAsync(10, Ct)).Should().BeEmpty("only entries in backoff are left");
        (await store.TryClaimAsync(github[0].Lane, s_lease, Ct)).Should().BeNull();
        (await store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(4, 0, Start));
        (await store.ListMailboxesAsync(10, Ct)).Should().Contain(s => s.Lane == github[0].Lane && s.Depth == 1 && s.HeadAttempts == 1);

        await PassTimeAsync(TimeSpan.FromMinutes(4.2));
        (await store.GetDueLanesAsync(10, Ct)).Should().BeEquivalentTo([github[0].Lane, jira[0].Lane]);
        (await store.PeekDueAsync(github[0].Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(github[0].DeliveryId);
    }

    [Fact]
    public async Task A_due_head_lane_whose_entries_all_wait_is_next_due_at_its_earliest_retry()
    {
        var store = Open(Defaults);
        var first = Entry("gitlab:7", "us", Start);
        var second = Entry("gitlab:7", "us", Start);
        await store.AppendAsync([first], Ct);
        await store.AppendAsync([second], Ct);
        var lease = (await store.TryClaimAsync(first.Lane, s_lease, Ct))!;
        await store.RescheduleAsync(lease, first.DeliveryId, Start.AddMinutes(10), Ct);
        await store.RescheduleAsync(lease, second.DeliveryId, Start.AddMinutes(5), Ct);
        await store.ReleaseAsync(lease, Ct);

        await PassTimeAsync(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        (await store.GetDueLanesAsync(10, Ct)).Should().BeEmpty();
        await PassTimeAsync(TimeSpan.FromSeconds(1));

        (await store.GetDueLanesAsync(10, Ct)).Should().Equal(first.Lane);
        (await store.TryClaimAsync(first.Lane, s_lease, Ct)).Should().NotBeNull("the later entry's retry is due before the head's");
        (await store.PeekDueAsync(first.Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(second.DeliveryId);
    }

    [Fact]
    public async Task Retry_now_makes_every_waiting_entry_of_a_mailbox_due_at_once_with_its_attempts_kept()
    {
        var store = Open(Defaults);
        var strict = Entry("jira:1", "us", Start);
        var strictNext = Entry("jira:1", "us", Start);
        var other = Entry("jira:1", "de", Start);
        var untouched = Entry("jira:2", "us", Start);
        await store.AppendAsync([strict], Ct);
        await store.AppendAsync([strictNext], Ct);
        await store.AppendAsync([other], Ct);
        await store.AppendAsync([untouched], Ct);
        foreach (var waiting in new[] { strict, other, untouched })
        {
            var lease = (await store.TryClaimAsync(waiting.Lane, s_lease, Ct))!;
            await store.RescheduleAsync(lease, waiting.DeliveryId, Start.AddMinutes(4.2), Ct);
            await store.RescheduleAsync(lease, waiting.DeliveryId, Start.AddMinutes(30), Ct);
            await store.ReleaseAsync(lease, Ct);
        }

        await PassTimeAsync(TimeSpan.FromMinutes(1));
        (await store.GetDueLanesAsync(10, Ct)).Should().BeEmpty();

        var one = await store.RetryNowAsync("jira:1", "us", Ct);
        one.Should().Be(new MailboxLaneChange(1, 1));
        (await store.GetDueLanesAsync(10, Ct)).Should().Equal(strict.Lane);
        var head = (await store.PeekAsync(strict.Lane, 1, Ct)).Single();
        head.Attempts.Should().Be(2, "retrying now clears the backoff, not the count");
        head.NextAttemptAt.Should().Be(Start.AddMinutes(1));
        (await store.TryClaimAsync(strict.Lane, s_lease, Ct)).Should().NotBeNull();

        (await store.RetryNowAsync("jira:1", null, Ct)).Should().Be(new MailboxLaneChange(2, 1), "both lanes of the mailbox; only de still waited");
        (await store.GetDueLanesAsync(10, Ct)).Should().Equal([other.Lane], "us is leased now");
        (await store.PeekAsync(untouched.Lane, 1, Ct)).Single().NextAttemptAt.Should().Be(Start.AddMinutes(30), "another mailbox is left alone");
        (await store.RetryNowAsync("jira:404", null, Ct)).Should().Be(new MailboxLaneChange(0, 0));
    }

    [Fact]
    public async Task Purge_deletes_every_pending_entry_of_a_mailbox_and_a_leased_lane_holder_finds_them_gone()
    {
        var store = Open(Defaults);
        var inFlight = Entry("github:1", "us", Start);
        var behind = Entry("github:1", "us", Start);
        var failing = Entry("github:1", "us", Start);
        var otherRegion = Entry("github:1", "de", Start);
        var kept = Entry("github:2", "us", Start);
        foreach (var entry in new[] { inFlight, behind, failing, otherRegion, kept })
        {
            await store.AppendAsync([entry], Ct);
        }

        var dead = Entry("github:1", "us", Start);
        await store.AppendAsync([dead], Ct);
        await store.DeadLetterAsync(dead.Lane, dead.DeliveryId, new DeadLetterCause("not_found", 404, null), Ct);
        var lease = (await store.TryClaimAsync(inFlight.Lane, s_lease, Ct))!;

        (await store.PurgeLanesAsync("github:1", "de", Ct)).Should().Be(new MailboxLaneChange(1, 1));
        (await store.PurgeLanesAsync("github:1", null, Ct)).Should().Be(new MailboxLaneChange(1, 3), "the leased lane is purged too");
        (await store.PurgeLanesAsync("github:1", null, Ct)).Should().Be(new MailboxLaneChange(0, 0));

        // What the drainer that held the lane writes when its sends come back: nothing, and nothing comes back.
        (await store.AckAsync(inFlight.Lane, inFlight.DeliveryId, Ct)).Should().BeFalse();
        (await store.RescheduleAsync(lease, failing.DeliveryId, Start.AddMinutes(4.2), Ct)).Should().BeFalse();
        (await store.PostponeAsync(lease, failing.DeliveryId, Start.AddMinutes(9), Ct)).Should().BeFalse();
        (await store.DeadLetterAsync(behind.Lane, behind.DeliveryId, new DeadLetterCause("not_found", 404, null), Ct)).Should().BeFalse();
        await store.ReleaseAsync(lease, Ct);

        (await store.PeekAsync(inFlight.Lane, 10, Ct)).Should().BeEmpty();
        (await store.PeekDueAsync(inFlight.Lane, 10, Ct)).Should().BeEmpty();
        (await store.ListDeadLettersAsync(null, 10, Ct)).Select(d => d.Entry.DeliveryId).Should().Equal([dead.DeliveryId], "dead letters are not pending entries");
        (await store.ListMailboxesAsync(10, Ct)).Select(s => s.Lane).Should().Equal(kept.Lane);
        (await store.GetDueLanesAsync(10, Ct)).Should().Equal(kept.Lane);
        (await store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(1, 1, Start));

        var later = Entry("github:1", "us", Start);
        await store.AppendAsync([later], Ct);
        (await store.GetDueLanesAsync(10, Ct)).Should().BeEquivalentTo([kept.Lane, later.Lane], "a purged lane takes new webhooks");
        (await store.TryClaimAsync(later.Lane, s_lease, Ct)).Should().NotBeNull();
    }
}
