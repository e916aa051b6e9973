using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Proxy.Mailbox;

/// <summary>Rebuilds indexes that a crash between two writes can leave behind (Redis only: SQLite commits both in one transaction).</summary>
internal interface IMailboxIndexRepair
{
    /// <summary>
    /// Returns how many lanes and dead letters were put back into the global indexes, plus the shared bodies whose
    /// entries were deleted behind the store's back that were released (deleted, or their count lowered).
    /// </summary>
    Task<int> RepairIndexesAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The shared store: several replicas use one Redis (or Redis Cluster). Keys of one mailbox share the hash tag
/// <c>{mailbox}</c>, so every per-mailbox operation is one atomic script in one slot:
/// <list type="bullet">
/// <item><c>P:{m}:q:REGION</c> sorted set of delivery ids by sequence: the lane, FIFO.</item>
/// <item><c>P:{m}:e:ID</c> hash: the entry (live or dead).</item>
/// <item><c>P:{m}:l:REGION</c> string <c>token|expiresAtMs</c> with a Redis expiry (<c>PX</c>): the lane's lease, which runs
/// out on Redis's clock, so replicas whose clocks disagree still never hold one lane together.</item>
/// <item><c>P:{m}:w:REGION</c> sorted set of the lane's ids in backoff by next attempt: the waiting set.</item>
/// <item><c>P:{m}:seq</c> counter; <c>P:{m}:dead</c> sorted set of dead ids by dead-at.</item>
/// <item><c>P:{m}:b:WEBHOOK</c> hash: the headers and body of a webhook for several regions, stored once, with the count
/// of entries (live or dead) that refer to it; deleted with the last one.</item>
/// </list>
/// Appends waiting at the same moment are written together (one append script call for all of them, one per slot on a
/// cluster, then one index write), and each caller is answered when Redis acknowledged its own webhook and the index write.
/// The global indexes (<c>P:{idx}:lanes</c> due lanes by due time, <c>P:{idx}:dead</c> and <c>P:{idx}:deadmb</c>) live in
/// one slot by necessity. They are written after the mailbox data and are hints: a crash between the two writes
/// is repaired by <see cref="RepairIndexesAsync"/>, which the drainer runs periodically.
/// An id whose entry is gone or unreadable is taken out of its lane by the script that meets it (see
/// <see cref="RedisMailboxScripts"/>), counted in <c>mailbox.orphans</c> and logged, so it never blocks its lane or the index.
/// </summary>
internal sealed partial class RedisMailboxStore : IMailboxStore, IMailboxIndexRepair, IDisposable
{
    /// <summary>Webhooks one pipelined flush carries at most; the rest go in the next flush, which starts at once.</summary>
    public const int MaxAppendsPerFlush = 256;

    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly TimeProvider _time;
    private readonly MailboxMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly RedisKey _lanesIndex;
    private readonly RedisKey _deadIndex;
    private readonly RedisKey _deadMailboxes;
    private readonly Channel<PendingAppend> _appends = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private long _flushes;
    private long _appendScripts;
    private readonly MailboxOrdering _ordering;

    /// <param name="ordering">Which lanes are due-head; null: every lane strictly in order.</param>
    public RedisMailboxStore(IConnectionMultiplexer redis, string keyPrefix, TimeProvider time, MailboxMetrics? metrics = null, ILogger<RedisMailboxStore>? logger = null,
        MailboxOrdering? ordering = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentException.ThrowIfNullOrEmpty(keyPrefix);
        _redis = redis;
        _prefix = keyPrefix;
        _time = time;
        _metrics = metrics;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _ordering = ordering ?? MailboxOrdering.StrictEverywhere;
        _lanesIndex = $"{_prefix}:{{idx}}:lanes";
        _deadIndex = $"{_prefix}:{{idx}}:dead";
        _deadMailboxes = $"{_prefix}:{{idx}}:deadmb";
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Pipelined flushes that carried at least one webhook since this store was created.</summary>
    internal long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>Append script calls sent since this store was created (one per flush on a single server, one per slot on a cluster).</summary>
    internal long AppendScripts => Interlocked.Read(ref _appendScripts);

    private IDatabase Db => _redis.GetDatabase();

    public async Task AppendAsync(IReadOnlyList<MailboxEntry> entries, CancellationToken cancellationToken = default)
    {
        EntryCodec.ThrowIfInvalidBatch(entries);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = PrepareAppend(entries, cancellationToken);
        if (!_appends.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(RedisMailboxStore), "the mailbox store is closed");
        }

        // A caller that gives up (its token) stops waiting; its script may still reach Redis with the flush it is in.
        await pending.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _appends.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(10));
    }

    /// <summary>The append script's keys and arguments for one webhook (one entry per region), and its index members.</summary>
    private PendingAppend PrepareAppend(IReadOnlyList<MailboxEntry> entries, CancellationToken cancellationToken)
    {
        var mailbox = entries[0].Mailbox;
        var shared = EntryCodec.SharesBody(entries);
        var keys = new RedisKey[2 + 2 * entries.Count];
        var args = new RedisValue[4 + RedisMailboxScripts.AppendWidth * entries.Count];
        keys[0] = SeqKey(mailbox);
        keys[1] = BodyKey(mailbox, Guid.NewGuid().ToString("N"));
        args[0] = entries.Count;
        args[1] = shared ? "1" : "0";
        args[2] = shared ? EntryCodec.WriteHeaders(entries[0].Headers) : RedisValue.EmptyString;
        args[3] = shared ? entries[0].Body : RedisValue.EmptyString;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            keys[2 + 2 * i] = QueueKey(entry.Lane);
            keys[3 + 2 * i] = EntryKey(mailbox, entry.DeliveryId);
            var a = 4 + RedisMailboxScripts.AppendWidth * i;
            args[a] = entry.DeliveryId;
            args[a + 1] = entry.Mailbox;
            args[a + 2] = entry.Region;
            args[a + 3] = entry.Method;
            args[a + 4] = entry.PathAndQuery;
            args[a + 5] = shared ? RedisValue.EmptyString : EntryCodec.WriteHeaders(entry.Headers);
            args[a + 6] = shared ? RedisValue.EmptyString : entry.Body;
            args[a + 7] = EntryCodec.ToMilliseconds(entry.ReceivedAt);
            args[a + 8] = EntryCodec.DueMilliseconds(entry);
            args[a + 9] = entry.TraceParent ?? "";
            args[a + 10] = entry.Attempts;
        }

        var members = entries.Select(e => new SortedSetEntry(LaneMember(e.Lane), EntryCodec.DueMilliseconds(e))).ToArray();
        return new PendingAppend(entries.Count, mailbox, keys, args, members, cancellationToken);
    }

    /// <summary>
    /// The group write. Takes every append queued at that moment, writes them in one pipelined flush of one script call
    /// (one per slot on a cluster; with <c>appendfsync always</c> Redis writes and fsyncs its AOF once for the commands of
    /// one event-loop pass before it answers them), then offers all their lanes to the index in one <c>ZADD NX</c>: data
    /// first, index second, as for one append. A caller whose webhook was refused gets its error; the others are answered once
    /// the index write succeeded, and all get its error if it failed (their webhooks may then be stored and delivered
    /// twice after the sender retries: at-least-once).
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var reader = _appends.Reader;
        var batch = new List<PendingAppend>(MaxAppendsPerFlush);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxAppendsPerFlush && reader.TryRead(out var pending))
            {
                if (pending.CancellationToken.IsCancellationRequested)
                {
                    pending.Done.TrySetCanceled(pending.CancellationToken);
                }
                else
                {
                    batch.Add(pending);
                }
            }

            try
            {
                await FlushAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Whatever failed, the callers must hear it (and the loop must live on for the next appends).
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }

    private async Task FlushAsync(List<PendingAppend> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // One script call per group of appends whose keys may be written together: all of them on a single server,
        // those of one slot on a cluster (a mailbox's keys share its hash tag, several mailboxes may share a slot).
        var groups = RedisSlots.GroupBySlot(_redis, batch, p => SeqKey(p.Mailbox));
        var pipeline = Db.CreateBatch();
        var scripts = new Task<RedisResult>[groups.Count];
        for (var i = 0; i < groups.Count; i++)
        {
            scripts[i] = pipeline.ScriptEvaluateAsync(RedisMailboxScripts.Append,
                groups[i].SelectMany(p => p.Keys).ToArray(), groups[i].SelectMany(p => p.Args).ToArray());
        }

        pipeline.Execute();
        Interlocked.Add(ref _appendScripts, groups.Count);
        var written = new List<PendingAppend>(batch.Count);
        for (var i = 0; i < groups.Count; i++)
        {
            RedisResult[] results;
            try
            {
                results = (RedisResult[])(await scripts[i].ConfigureAwait(false))!;
            }
            catch (Exception ex)
            {
                foreach (var pending in groups[i])
                {
                    pending.Done.TrySetException(ex);
                }

                continue;
            }

            for (var j = 0; j < groups[i].Count; j++)
            {
                if (results[j].Resp2Type == ResultType.Integer)
                {
                    written.Add(groups[i][j]);
                }
                else
                {
                    groups[i][j].Done.TrySetException(new RedisServerException(results[j].ToString()));
                }
            }
        }

        if (written.Count == 0)
        {
            return;
        }

        Interlocked.Increment(ref _flushes);
        try
        {
            await Db.SortedSetAddAsync(_lanesIndex, written.SelectMany(p => p.Members).ToArray(), SortedSetWhen.NotExists).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var pending in written)
            {
                pending.Done.TrySetException(ex);
            }

            return;
        }

        foreach (var pending in written)
        {
            _metrics?.Saved(pending.Entries);
            pending.Done.TrySetResult();
        }
    }

    private sealed class PendingAppend(int entries, string mailbox, RedisKey[] keys, RedisValue[] args, SortedSetEntry[] members, CancellationToken cancellationToken)
    {
        public int Entries { get; } = entries;

        public string Mailbox { get; } = mailbox;

        public RedisKey[] Keys { get; } = keys;

        public RedisValue[] Args { get; } = args;

        public SortedSetEntry[] Members { get; } = members;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<IReadOnlyList<MailboxLane>> GetDueLanesAsync(int limit, CancellationToken cancellationToken = default)
    {
        var members = await Db.SortedSetRangeByScoreAsync(_lanesIndex, double.NegativeInfinity, Now(), take: limit).ConfigureAwait(false);
        return members.Select(m => ParseLaneMember(m.ToString())).OfType<MailboxLane>().ToList();
    }

    public async Task<MailboxLease?> TryClaimAsync(MailboxLane lane, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var token = Guid.NewGuid().ToString("N");
        var now = Now();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.Claim,
            [LeaseKey(lane), QueueKey(lane), DeadKey(lane.Mailbox), WaitKey(lane)],
            [token, LeaseMilliseconds(duration), now, EntryPrefix(lane.Mailbox), lane.Mailbox, lane.Region, DueHeadFlag(lane)]).ConfigureAwait(false))!;
        var state = (int)result[0];
        var instant = (long)result[1];
        await ReportQuarantinedAsync(lane, result, 2, now).ConfigureAwait(false);
        var member = LaneMember(lane);
        switch (state)
        {
            case 0:
                // Leased by another: Redis says how long is left; look again then (on this replica's clock, a hint only).
                await Db.SortedSetAddAsync(_lanesIndex, member, now + instant).ConfigureAwait(false);
                return null;
            case 1:
                await ForgetLaneIfEmptyAsync(lane).ConfigureAwait(false);
                return null;
            case 3:
                // The lane next becomes due when the lease runs out: other replicas skip it until then.
                await Db.SortedSetAddAsync(_lanesIndex, member, instant).ConfigureAwait(false);
                return new MailboxLease(lane, token, EntryCodec.FromMilliseconds(instant));
            default:
                await Db.SortedSetAddAsync(_lanesIndex, member, instant).ConfigureAwait(false);
                return null;
        }
    }

    public async Task<MailboxLease?> RenewAsync(MailboxLease lease, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var milliseconds = LeaseMilliseconds(duration);
        var until = Now() + milliseconds;
        var renewed = (int)await Db.ScriptEvaluateAsync(RedisMailboxScripts.Renew, [LeaseKey(lease.Lane)], [lease.Token, milliseconds, until]).ConfigureAwait(false);
        if (renewed != 1)
        {
            return null;
        }

        await Db.SortedSetAddAsync(_lanesIndex, LaneMember(lease.Lane), until).ConfigureAwait(false);
        return lease with { ExpiresAt = EntryCodec.FromMilliseconds(until) };
    }

    public async Task ReleaseAsync(MailboxLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var now = Now();
        var lane = lease.Lane;
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.Release,
            [LeaseKey(lane), QueueKey(lane), DeadKey(lane.Mailbox), WaitKey(lane)],
            [lease.Token, EntryPrefix(lane.Mailbox), now, lane.Mailbox, lane.Region, DueHeadFlag(lane)]).ConfigureAwait(false))!;
        var head = (long)result[0];
        await ReportQuarantinedAsync(lane, result, 1, now).ConfigureAwait(false);
        if (head == -1)
        {
            await ForgetLaneIfEmptyAsync(lease.Lane).ConfigureAwait(false);
        }
        else if (head >= 0)
        {
            await Db.SortedSetAddAsync(_lanesIndex, LaneMember(lease.Lane), head).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<MailboxEntry>> PeekAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var now = Now();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.PeekLane, [QueueKey(lane), DeadKey(lane.Mailbox), WaitKey(lane)],
            [count, EntryPrefix(lane.Mailbox), now, lane.Mailbox, lane.Region]).ConfigureAwait(false))!;
        await ReportQuarantinedAsync(lane, (RedisResult[])result[1]!, 0, now).ConfigureAwait(false);
        return ((RedisResult[])result[0]!).Select(r => ReadEntry(ReadHash(r), out _)).ToList();
    }

    public async Task<IReadOnlyList<MailboxEntry>> PeekDueAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var now = Now();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.PeekDue, [QueueKey(lane), DeadKey(lane.Mailbox), WaitKey(lane)],
            [count, EntryPrefix(lane.Mailbox), now, lane.Mailbox, lane.Region, RedisMailboxScripts.DueScanLimit]).ConfigureAwait(false))!;
        await ReportQuarantinedAsync(lane, (RedisResult[])result[1]!, 0, now).ConfigureAwait(false);
        return ((RedisResult[])result[0]!).Select(r => ReadEntry(ReadHash(r), out _)).ToList();
    }

    public async Task<MailboxLaneChange> RetryNowAsync(string mailbox, string? region, CancellationToken cancellationToken = default)
    {
        var lanes = 0;
        long entries = 0;
        foreach (var lane in await LanesOfAsync(mailbox, region, cancellationToken).ConfigureAwait(false))
        {
            var now = Now();
            var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.RetryNow, [QueueKey(lane), WaitKey(lane), LeaseKey(lane)],
                [EntryPrefix(lane.Mailbox), now]).ConfigureAwait(false))!;
            if ((long)result[0] == 0)
            {
                continue;
            }

            lanes++;
            entries += (long)result[1];
            if ((long)result[2] == 0)
            {
                // Due now for every drainer; a leased lane is put in the index by its holder's release.
                await Db.SortedSetAddAsync(_lanesIndex, LaneMember(lane), now).ConfigureAwait(false);
            }
        }

        return new MailboxLaneChange(lanes, entries);
    }

    public async Task<MailboxLaneChange> PurgeLanesAsync(string mailbox, string? region, CancellationToken cancellationToken = default)
    {
        var lanes = 0;
        long entries = 0;
        foreach (var lane in await LanesOfAsync(mailbox, region, cancellationToken).ConfigureAwait(false))
        {
            long deleted = 0;
            while (true)
            {
                var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.PurgeLane, [QueueKey(lane), WaitKey(lane)],
                    [EntryPrefix(lane.Mailbox), RedisMailboxScripts.PurgeBatch]).ConfigureAwait(false))!;
                deleted += (long)result[0];
                if ((long)result[1] == 0)
                {
                    break;
                }
            }

            if (deleted > 0)
            {
                lanes++;
                entries += deleted;
            }

            await ForgetLaneIfEmptyAsync(lane).ConfigureAwait(false);
        }

        return new MailboxLaneChange(lanes, entries);
    }

    public Task<bool> RescheduleAsync(MailboxLease lease, string deliveryId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default) =>
        UpdateLeasedEntryAsync(lease, deliveryId, nextAttemptAt, "r");

    public Task<bool> PostponeAsync(MailboxLease lease, string deliveryId, DateTimeOffset notBefore, CancellationToken cancellationToken = default) =>
        UpdateLeasedEntryAsync(lease, deliveryId, notBefore, "p");

    public async Task<bool> AckAsync(MailboxLane lane, string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        return (int)await Db.ScriptEvaluateAsync(RedisMailboxScripts.Ack, [QueueKey(lane), EntryKey(lane.Mailbox, deliveryId), WaitKey(lane)], [deliveryId]).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<bool>> AckManyAsync(MailboxLane lane, IReadOnlyList<string> deliveryIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        ArgumentNullException.ThrowIfNull(deliveryIds);
        if (deliveryIds.Count == 0)
        {
            return [];
        }

        var args = new RedisValue[1 + deliveryIds.Count];
        args[0] = EntryPrefix(lane.Mailbox);
        for (var i = 0; i < deliveryIds.Count; i++)
        {
            args[i + 1] = deliveryIds[i];
        }

        var done = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.AckMany, [QueueKey(lane), WaitKey(lane)], args).ConfigureAwait(false))!;
        return done.Select(d => (int)d == 1).ToArray();
    }

    public async Task<bool> DeadLetterAsync(MailboxLane lane, string deliveryId, DeadLetterCause cause, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        ArgumentNullException.ThrowIfNull(cause);
        var now = Now();
        var moved = (int)await Db.ScriptEvaluateAsync(RedisMailboxScripts.DeadLetter,
            [QueueKey(lane), EntryKey(lane.Mailbox, deliveryId), DeadKey(lane.Mailbox), WaitKey(lane)],
            [deliveryId, cause.Reason, cause.LastStatus?.ToString(CultureInfo.InvariantCulture) ?? "", cause.LastError ?? "", now]).ConfigureAwait(false);
        if (moved != 1)
        {
            return false;
        }

        await Db.ScriptEvaluateAsync(RedisMailboxScripts.IndexDeadLetter, [_deadIndex, _deadMailboxes], [deliveryId, now, lane.Mailbox]).ConfigureAwait(false);
        return true;
    }

    public async Task<IReadOnlyList<MailboxSummary>> ListMailboxesAsync(int limit, CancellationToken cancellationToken = default)
    {
        var members = await Db.SortedSetRangeByRankAsync(_lanesIndex, 0, limit - 1).ConfigureAwait(false);
        var summaries = await SummarizeAsync(members.Select(m => ParseLaneMember(m.ToString())).OfType<MailboxLane>()).ConfigureAwait(false);
        return summaries.Select(s => s.Summary).OfType<MailboxSummary>().ToList();
    }

    public async Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string? mailbox, int limit, CancellationToken cancellationToken = default)
    {
        if (mailbox is not null)
        {
            MailboxNames.ThrowIfInvalidMailbox(mailbox);
            var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMailboxScripts.RangeEntries, [DeadKey(mailbox)], [limit, EntryPrefix(mailbox)]).ConfigureAwait(false))!;
            return result.Select(r => ReadDeadLetter(ReadHash(r))).OfType<DeadLetter>().ToList();
        }

        var ids = await Db.SortedSetRangeByRankAsync(_deadIndex, 0, limit - 1).ConfigureAwait(false);
        if (ids.Length == 0)
        {
            return [];
        }

        var mailboxes = await Db.HashGetAsync(_deadMailboxes, ids).ConfigureAwait(false);
        var reads = new List<Task<RedisResult>>();
        for (var i = 0; i < ids.Length; i++)
        {
            if (!mailboxes[i].IsNull)
            {
                reads.Add(Db.ScriptEvaluateAsync(RedisMailboxScripts.GetDead, [EntryKey(mailboxes[i].ToString(), ids[i].ToString())]));
            }
        }

        var letters = new List<DeadLetter>();
        foreach (var read in reads)
        {
            if (ReadDeadLetter(ReadHash(await read.ConfigureAwait(false))) is { } letter)
            {
                letters.Add(letter);
            }
        }

        return letters;
    }

    public async Task<bool> ReplayDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        var mailbox = await Db.HashGetAsync(_deadMailboxes, deliveryId).ConfigureAwait(false);
        if (mailbox.IsNull)
        {
            return false;
        }

        var name = mailbox.ToString();
        var region = await Db.ScriptEvaluateAsync(RedisMailboxScripts.Replay,
            [DeadKey(name), EntryKey(name, deliveryId), SeqKey(name)],
            [deliveryId, Now(), $"{MailboxTag(name)}:q:"]).ConfigureAwait(false);
        await Db.ScriptEvaluateAsync(RedisMailboxScripts.UnindexDeadLetter, [_deadIndex, _deadMailboxes], [deliveryId]).ConfigureAwait(false);
        if (region.IsNull)
        {
            return false;
        }

        await Db.SortedSetAddAsync(_lanesIndex, LaneMember(new MailboxLane(name, region.ToString())), Now(), SortedSetWhen.NotExists).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> PurgeDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        var mailbox = await Db.HashGetAsync(_deadMailboxes, deliveryId).ConfigureAwait(false);
        if (mailbox.IsNull)
        {
            return false;
        }

        var name = mailbox.ToString();
        var purged = (int)await Db.ScriptEvaluateAsync(RedisMailboxScripts.Purge, [DeadKey(name), EntryKey(name, deliveryId)], [deliveryId]).ConfigureAwait(false);
        await Db.ScriptEvaluateAsync(RedisMailboxScripts.UnindexDeadLetter, [_deadIndex, _deadMailboxes], [deliveryId]).ConfigureAwait(false);
        return purged == 1;
    }

    public async Task<MailboxStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        long pending = 0;
        DateTimeOffset? oldest = null;
        const int page = 1000;
        for (long start = 0; ; start += page)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var members = await Db.SortedSetRangeByRankAsync(_lanesIndex, start, start + page - 1).ConfigureAwait(false);
            foreach (var (summary, depth) in await SummarizeAsync(members.Select(m => ParseLaneMember(m.ToString())).OfType<MailboxLane>()).ConfigureAwait(false))
            {
                pending += depth;
                if (summary is not null && (oldest is null || summary.OldestReceivedAt < oldest))
                {
                    oldest = summary.OldestReceivedAt;
                }
            }

            if (members.Length < page)
            {
                break;
            }
        }

        var dead = await Db.SortedSetLengthAsync(_deadIndex).ConfigureAwait(false);
        return new MailboxStats(pending, dead, oldest);
    }

    public async Task<int> RepairIndexesAsync(CancellationToken cancellationToken)
    {
        var repaired = 0;
        var lanePrefix = $"{_prefix}:{{";
        foreach (var server in _redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: $"{_prefix}:{{*}}:q:*", pageSize: 1000).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var text = key.ToString();
                var close = text.IndexOf("}:q:", lanePrefix.Length, StringComparison.Ordinal);
                if (close < 0)
                {
                    continue;
                }

                var lane = new MailboxLane(text[lanePrefix.Length..close], text[(close + 4)..]);
                if (await Db.SortedSetAddAsync(_lanesIndex, LaneMember(lane), Now(), SortedSetWhen.NotExists).ConfigureAwait(false))
                {
                    repaired++;
                    await ForgetLaneIfEmptyAsync(lane).ConfigureAwait(false);
                }
            }

            await foreach (var key in server.KeysAsync(pattern: $"{_prefix}:{{*}}:dead", pageSize: 1000).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var text = key.ToString();
                var mailbox = text[lanePrefix.Length..^"}:dead".Length];
                foreach (var dead in await Db.SortedSetRangeByRankWithScoresAsync(key).ConfigureAwait(false))
                {
                    if (await Db.SortedSetScoreAsync(_deadIndex, dead.Element).ConfigureAwait(false) is not null)
                    {
                        continue;
                    }

                    await Db.ScriptEvaluateAsync(RedisMailboxScripts.IndexDeadLetter, [_deadIndex, _deadMailboxes], [dead.Element, dead.Score, mailbox]).ConfigureAwait(false);
                    repaired++;
                }
            }

            repaired += await ReleaseOrphanedBodiesAsync(server, cancellationToken).ConfigureAwait(false);
        }

        return repaired;
    }

    /// <summary>
    /// Deletes the shared bodies of <paramref name="server"/> that no entry refers to any more (their entry hashes were
    /// deleted by an operator or evicted, so no ack or purge will ever release them), and lowers the count of those that
    /// lost some; returns how many it changed.
    /// </summary>
    private async Task<int> ReleaseOrphanedBodiesAsync(IServer server, CancellationToken cancellationToken)
    {
        var released = 0;
        await foreach (var key in server.KeysAsync(pattern: $"{_prefix}:{{*}}:b:*", pageSize: 1000).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var text = key.ToString();
            var close = text.LastIndexOf("}:b:", StringComparison.Ordinal);
            if (close < 0)
            {
                continue;
            }

            var entryPrefix = text[..(close + 1)] + ":e:";
            if ((int)await Db.ScriptEvaluateAsync(RedisMailboxScripts.ReleaseOrphanedBody, [key], [entryPrefix]).ConfigureAwait(false) != 0)
            {
                released++;
            }
        }

        return released;
    }

    private async Task<bool> UpdateLeasedEntryAsync(MailboxLease lease, string deliveryId, DateTimeOffset instant, string mode)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var done = (int)await Db.ScriptEvaluateAsync(RedisMailboxScripts.UpdateLeasedEntry,
            [LeaseKey(lease.Lane), QueueKey(lease.Lane), EntryKey(lease.Lane.Mailbox, deliveryId), WaitKey(lease.Lane)],
            [lease.Token, deliveryId, EntryCodec.ToMilliseconds(instant), mode]).ConfigureAwait(false);
        return done == 1;
    }

    /// <summary>
    /// Counts and logs the ids a script took out of a lane (pairs id, reason from <paramref name="offset"/> on), and
    /// indexes the damaged ones, which became dead letters in the mailbox's slot, in the global dead-letter index.
    /// </summary>
    private async Task ReportQuarantinedAsync(MailboxLane lane, RedisResult[] result, int offset, long now)
    {
        for (var i = offset; i + 1 < result.Length; i += 2)
        {
            var deliveryId = result[i].ToString();
            var reason = result[i + 1].ToString();
            _metrics?.Orphaned(reason, lane.Region);
            if (reason == OrphanReasons.Damaged)
            {
                Log.DamagedEntry(_logger, deliveryId, lane);
                await Db.ScriptEvaluateAsync(RedisMailboxScripts.IndexDeadLetter, [_deadIndex, _deadMailboxes], [deliveryId, now, lane.Mailbox]).ConfigureAwait(false);
            }
            else
            {
                Log.MissingEntry(_logger, deliveryId, lane);
            }
        }
    }

    /// <summary>Redis refuses an expiry of 0 ms.</summary>
    private static long LeaseMilliseconds(TimeSpan duration) => Math.Max(1, (long)duration.TotalMilliseconds);

    /// <summary>
    /// Removes an empty lane from the index, then looks again: an append that raced with the removal wrote its data
    /// before offering the lane to the index, so the second look either sees that data or the append re-adds the lane.
    /// </summary>
    private async Task ForgetLaneIfEmptyAsync(MailboxLane lane)
    {
        var member = LaneMember(lane);
        await Db.SortedSetRemoveAsync(_lanesIndex, member).ConfigureAwait(false);
        if (await Db.SortedSetLengthAsync(QueueKey(lane)).ConfigureAwait(false) > 0)
        {
            await Db.SortedSetAddAsync(_lanesIndex, member, Now(), SortedSetWhen.NotExists).ConfigureAwait(false);
        }
    }

    /// <summary>Per non-empty lane its depth, and its summary when a sound head could be found in this call.</summary>
    private async Task<List<(MailboxSummary? Summary, long Depth)>> SummarizeAsync(IEnumerable<MailboxLane> lanes)
    {
        var now = Now();
        var reads = lanes.Select(lane => (Lane: lane, Read: Db.ScriptEvaluateAsync(RedisMailboxScripts.Summary, [QueueKey(lane), DeadKey(lane.Mailbox), WaitKey(lane)],
            [EntryPrefix(lane.Mailbox), now, lane.Mailbox, lane.Region]))).ToList();
        var summaries = new List<(MailboxSummary?, long)>(reads.Count);
        foreach (var (lane, read) in reads)
        {
            var values = (RedisResult[])(await read.ConfigureAwait(false))!;
            var depth = (long)values[0];
            var hasHead = !values[1].IsNull;
            await ReportQuarantinedAsync(lane, values, hasHead ? 4 : 2, now).ConfigureAwait(false);
            if (depth > 0)
            {
                summaries.Add((hasHead
                    ? new MailboxSummary(lane, depth, EntryCodec.FromMilliseconds((long)values[1]), (int)values[2], EntryCodec.FromMilliseconds((long)values[3]))
                    : null, depth));
            }
        }

        return summaries;
    }

    private static Dictionary<string, RedisValue> ReadHash(RedisResult result)
    {
        var flat = (RedisResult[])result!;
        var fields = new Dictionary<string, RedisValue>(flat.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            fields[flat[i].ToString()] = (RedisValue)flat[i + 1];
        }

        return fields;
    }

    /// <summary>
    /// Reads an entry hash without ever throwing: live entries were checked by the script that returned them, and a
    /// dead letter may be a damaged entry, shown with what could be read (absent text empty, unreadable numbers 0).
    /// </summary>
    private static MailboxEntry ReadEntry(Dictionary<string, RedisValue> fields, out bool isDead)
    {
        isDead = fields.ContainsKey("dr");
        var trace = fields.GetValueOrDefault("tp");
        return new MailboxEntry
        {
            DeliveryId = fields.GetValueOrDefault("id").ToString(),
            Mailbox = fields.GetValueOrDefault("m").ToString(),
            Region = fields.GetValueOrDefault("r").ToString(),
            Method = fields.GetValueOrDefault("mt").ToString(),
            PathAndQuery = fields.GetValueOrDefault("p").ToString(),
            Headers = ReadHeaders(fields.GetValueOrDefault("h")),
            Body = (byte[]?)fields.GetValueOrDefault("b") ?? [],
            ReceivedAt = ReadInstant(fields.GetValueOrDefault("ra")),
            Attempts = fields.GetValueOrDefault("a").TryParse(out int attempts) ? attempts : 0,
            NextAttemptAt = ReadInstant(fields.GetValueOrDefault("n")),
            TraceParent = trace.IsNullOrEmpty ? null : trace.ToString(),
        };
    }

    private static IReadOnlyList<KeyValuePair<string, string>> ReadHeaders(RedisValue json)
    {
        try
        {
            return json.IsNullOrEmpty ? [] : EntryCodec.ReadHeaders(json.ToString());
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or IndexOutOfRangeException)
        {
            return [];
        }
    }

    private static DateTimeOffset ReadInstant(RedisValue milliseconds) =>
        milliseconds.TryParse(out long value) && value >= MinMilliseconds && value <= MaxMilliseconds ? EntryCodec.FromMilliseconds(value) : default;

    private static DeadLetter? ReadDeadLetter(Dictionary<string, RedisValue> fields)
    {
        if (fields.Count == 0)
        {
            return null;
        }

        var entry = ReadEntry(fields, out var isDead);
        if (!isDead)
        {
            return null;
        }

        var status = fields.GetValueOrDefault("ds");
        var error = fields.GetValueOrDefault("de");
        var cause = new DeadLetterCause(fields["dr"].ToString(), status.TryParse(out int code) ? code : null, error.IsNullOrEmpty ? null : error.ToString());
        return new DeadLetter(entry, cause, ReadInstant(fields.GetValueOrDefault("dt")));
    }

    private static readonly long MinMilliseconds = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private long Now() => EntryCodec.ToMilliseconds(_time.GetUtcNow());

    private string MailboxTag(string mailbox) => $"{_prefix}:{{{mailbox}}}";

    private RedisKey QueueKey(MailboxLane lane) => $"{MailboxTag(lane.Mailbox)}:q:{lane.Region}";

    private RedisKey WaitKey(MailboxLane lane) => $"{MailboxTag(lane.Mailbox)}:w:{lane.Region}";

    private string DueHeadFlag(MailboxLane lane) => _ordering.IsDueHead(lane.Mailbox) ? "1" : "0";

    /// <summary>
    /// The lanes of a mailbox: the one of <paramref name="region"/>, or every lane the index knows (members
    /// <c>region/mailbox</c>, found with ZSCAN; a lane missing from the index is back after the next repair).
    /// </summary>
    private async Task<IReadOnlyList<MailboxLane>> LanesOfAsync(string mailbox, string? region, CancellationToken cancellationToken)
    {
        MailboxNames.ThrowIfInvalidMailbox(mailbox);
        if (region is not null)
        {
            MailboxNames.ThrowIfInvalidRegion(region);
            return [new MailboxLane(mailbox, region)];
        }

        // Mailbox and region names hold no glob characters, and regions no '/'.
        var lanes = new List<MailboxLane>();
        await foreach (var member in Db.SortedSetScanAsync(_lanesIndex, "*/" + mailbox, pageSize: 1000).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (ParseLaneMember(member.Element.ToString()) is { } lane && lane.Mailbox == mailbox)
            {
                lanes.Add(lane);
            }
        }

        return lanes;
    }

    private RedisKey LeaseKey(MailboxLane lane) => $"{MailboxTag(lane.Mailbox)}:l:{lane.Region}";

    private RedisKey SeqKey(string mailbox) => $"{MailboxTag(mailbox)}:seq";

    private RedisKey DeadKey(string mailbox) => $"{MailboxTag(mailbox)}:dead";

    private string EntryPrefix(string mailbox) => $"{MailboxTag(mailbox)}:e:";

    private RedisKey EntryKey(string mailbox, string deliveryId) => EntryPrefix(mailbox) + deliveryId;

    private RedisKey BodyKey(string mailbox, string webhook) => $"{MailboxTag(mailbox)}:b:{webhook}";

    private static string LaneMember(MailboxLane lane) => lane.ToString();

    private static MailboxLane? ParseLaneMember(string member)
    {
        var slash = member.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? new MailboxLane(member[(slash + 1)..], member[..slash]) : null;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Delivery {DeliveryId} was in lane {Lane} but its entry is gone (evicted or deleted); it was taken out of the lane")]
        public static partial void MissingEntry(ILogger logger, string deliveryId, MailboxLane lane);

        [LoggerMessage(2, LogLevel.Warning, "Delivery {DeliveryId} of lane {Lane} has a missing or unreadable field; it was moved to the dead letters as damaged")]
        public static partial void DamagedEntry(ILogger logger, string deliveryId, MailboxLane lane);
    }
}
