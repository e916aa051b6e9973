using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Proxy.Mailbox;

/// <summary>How hard a SQLite commit waits for the disk (<c>PRAGMA synchronous</c> in WAL mode).</summary>
public enum SqliteDurability
{
    /// <summary>fsync of the WAL at every commit: an appended entry survives a power cut. The default.</summary>
    Full,

    /// <summary>fsync only at checkpoints: survives a process crash, but the last commits may be lost on a power cut.</summary>
    Normal,
}

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Writes go through one connection guarded by a lock (SQLite runs
/// one writer at a time anyway); reads use a second connection, which WAL lets run beside the writer, so that polls,
/// listings and gauge reads never hold an append back. A second process on the same file waits on the busy timeout.
/// <para>
/// Appends are group-committed: callers queue their webhook and one writer loop takes every append waiting at that
/// moment (at most <see cref="MaxAppendsPerCommit"/>) into one transaction, so one fsync makes them all durable. Each
/// caller's task completes only after the commit that holds its entries; a failed commit fails each of its callers.
/// </para>
/// <para>
/// A webhook for several regions stores its headers and body once (<c>mailbox_bodies</c>, schema version 2), referenced
/// by each region's entry (<c>body_id</c>); triggers count the references of live entries and dead letters and delete
/// the body with its last one. Entries written by version 1 (body in the entry row) are read as they are.
/// </para>
/// </summary>
internal sealed class SqliteMailboxStore : IMailboxStore, IDisposable
{
    /// <summary>Webhooks one commit takes at most; the rest wait for the next commit, which starts at once.</summary>
    public const int MaxAppendsPerCommit = 256;

    /// <summary><c>PRAGMA user_version</c> of the layout this code writes: 2 = bodies stored once per webhook.</summary>
    public const int SchemaVersion = 2;

    /// <summary>The columns as stored, in insert and copy order.</summary>
    private const string StoredColumns = "delivery_id, mailbox, region, method, path, headers, body, received_at, attempts, next_attempt_at, trace_parent, body_id";

    private readonly Channel<PendingAppend> _appends = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private long _commits;

    private readonly SqliteConnection _connection;
    private readonly SqliteConnection _reader;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private AppendCommands? _appendCommands;
    private SqliteCommand? _syncNormal;
    private SqliteCommand? _syncFull;
    private readonly bool _syncEveryCommit;
    private readonly SemaphoreSlim _readLock = new(1, 1);
    private readonly TimeProvider _time;
    private readonly MailboxMetrics? _metrics;
    private readonly MailboxOrdering _ordering;

    /// <param name="ordering">Which lanes are due-head; null: every lane strictly in order.</param>
    public SqliteMailboxStore(string filePath, SqliteDurability durability, TimeProvider time, MailboxMetrics? metrics = null, MailboxOrdering? ordering = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        _time = time;
        _metrics = metrics;
        _ordering = ordering ?? MailboxOrdering.StrictEverywhere;
        var directory = Path.GetDirectoryName(Path.GetFullPath(filePath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        FilePath = filePath;
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = filePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        _syncEveryCommit = durability == SqliteDurability.Full;
        var synchronous = _syncEveryCommit ? "FULL" : "NORMAL";
        Execute($"""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = {synchronous};
            PRAGMA busy_timeout = 10000;
            CREATE TABLE IF NOT EXISTS mailbox_entries (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                delivery_id TEXT NOT NULL UNIQUE,
                mailbox TEXT NOT NULL,
                region TEXT NOT NULL,
                method TEXT NOT NULL,
                path TEXT NOT NULL,
                headers TEXT NOT NULL,
                body BLOB NOT NULL,
                received_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                trace_parent TEXT);
            CREATE INDEX IF NOT EXISTS ix_mailbox_entries_lane ON mailbox_entries (mailbox, region, seq);
            CREATE INDEX IF NOT EXISTS ix_mailbox_entries_due ON mailbox_entries (mailbox, region, next_attempt_at);
            CREATE TABLE IF NOT EXISTS mailbox_lanes (
                mailbox TEXT NOT NULL,
                region TEXT NOT NULL,
                lease_token TEXT,
                lease_until INTEGER,
                PRIMARY KEY (mailbox, region)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS mailbox_dead_letters (
                delivery_id TEXT NOT NULL PRIMARY KEY,
                mailbox TEXT NOT NULL,
                region TEXT NOT NULL,
                method TEXT NOT NULL,
                path TEXT NOT NULL,
                headers TEXT NOT NULL,
                body BLOB NOT NULL,
                received_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                trace_parent TEXT,
                dead_at INTEGER NOT NULL,
                reason TEXT NOT NULL,
                last_status INTEGER,
                last_error TEXT);
            CREATE INDEX IF NOT EXISTS ix_mailbox_dead_letters_mailbox ON mailbox_dead_letters (mailbox, dead_at);
            CREATE INDEX IF NOT EXISTS ix_mailbox_dead_letters_dead_at ON mailbox_dead_letters (dead_at);
            """);
        try
        {
            MigrateToSharedBodies();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }

        _reader = new SqliteConnection(connectionString);
        _reader.Open();
        _writer = Task.Factory.StartNew(WriteLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        // The lane's ordering follows from its mailbox name; the due-lane query asks it per lane.
        _reader.CreateFunction("mb_due_head", (string mailbox) => _ordering.IsDueHead(mailbox));
    }

    /// <summary>The write connection's <c>PRAGMA synchronous</c> now (2 = FULL, 1 = NORMAL), as the next append would commit with it.</summary>
    internal Task<long> SynchronousLevelAsync() => WithLockAsync(() =>
    {
        using var command = Command("PRAGMA synchronous");
        return (long)command.ExecuteScalar()!;
    }, CancellationToken.None);

    /// <summary>Commits that wrote at least one webhook since this store was opened (each one fsync with <c>synchronous=FULL</c>).</summary>
    internal long Commits => Interlocked.Read(ref _commits);

    public string FilePath { get; }

    public async Task AppendAsync(IReadOnlyList<MailboxEntry> entries, CancellationToken cancellationToken = default)
    {
        EntryCodec.ThrowIfInvalidBatch(entries);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingAppend(entries, cancellationToken);
        if (!_appends.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(SqliteMailboxStore), "the mailbox store is closed");
        }

        // A caller that gives up (its token) stops waiting; its entries may still be committed with the batch it is in.
        await pending.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<MailboxLane>> GetDueLanesAsync(int limit, CancellationToken cancellationToken = default)
    {
        var now = Now();
        return ReadAsync<IReadOnlyList<MailboxLane>>(() =>
        {
            using var command = Query("""
                SELECT mailbox, region FROM (
                    SELECT l.mailbox, l.region,
                        (SELECT e.seq FROM mailbox_entries e WHERE e.mailbox = l.mailbox AND e.region = l.region ORDER BY e.seq LIMIT 1) AS head,
                        CASE WHEN mb_due_head(l.mailbox) THEN
                            (SELECT MIN(e.next_attempt_at) FROM mailbox_entries e WHERE e.mailbox = l.mailbox AND e.region = l.region) END AS earliest
                    FROM mailbox_lanes l
                    WHERE l.lease_until IS NULL OR l.lease_until <= $now)
                WHERE head IS NOT NULL AND COALESCE(earliest, (SELECT next_attempt_at FROM mailbox_entries WHERE seq = head)) <= $now
                ORDER BY head LIMIT $limit
                """);
            Bind(command, ("$now", now), ("$limit", limit));
            var lanes = new List<MailboxLane>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                lanes.Add(new MailboxLane(reader.GetString(0), reader.GetString(1)));
            }

            return lanes;
        }, cancellationToken);
    }

    public Task<MailboxLease?> TryClaimAsync(MailboxLane lane, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var now = Now();
        var until = now + (long)duration.TotalMilliseconds;
        var token = Guid.NewGuid().ToString("N");
        // A strict lane is due when its head is; a due-head lane when its earliest due entry is.
        var due = _ordering.IsDueHead(lane.Mailbox)
            ? "SELECT MIN(e.next_attempt_at)"
            : "SELECT e.next_attempt_at";
        return WithLockUnsyncedAsync(() =>
        {
            using var transaction = _connection.BeginTransaction();
            using var head = Command($"""
                {due} FROM mailbox_lanes l
                JOIN mailbox_entries e ON e.mailbox = l.mailbox AND e.region = l.region
                WHERE l.mailbox = $m AND l.region = $r AND (l.lease_until IS NULL OR l.lease_until <= $now)
                ORDER BY e.seq LIMIT 1
                """, transaction);
            Bind(head, ("$m", lane.Mailbox), ("$r", lane.Region), ("$now", now));
            if (head.ExecuteScalar() is not long nextAttempt || nextAttempt > now)
            {
                return null;
            }

            using var claim = Command("UPDATE mailbox_lanes SET lease_token = $token, lease_until = $until WHERE mailbox = $m AND region = $r", transaction);
            Bind(claim, ("$token", token), ("$until", until), ("$m", lane.Mailbox), ("$r", lane.Region));
            claim.ExecuteNonQuery();
            transaction.Commit();
            return new MailboxLease(lane, token, EntryCodec.FromMilliseconds(until));
        }, cancellationToken);
    }

    public Task<MailboxLease?> RenewAsync(MailboxLease lease, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var until = Now() + (long)duration.TotalMilliseconds;
        return WithLockUnsyncedAsync(() =>
        {
            using var command = Command("UPDATE mailbox_lanes SET lease_until = $until WHERE mailbox = $m AND region = $r AND lease_token = $token");
            Bind(command, ("$until", until), ("$m", lease.Lane.Mailbox), ("$r", lease.Lane.Region), ("$token", lease.Token));
            return command.ExecuteNonQuery() == 1 ? lease with { ExpiresAt = EntryCodec.FromMilliseconds(until) } : null;
        }, cancellationToken);
    }

    public Task ReleaseAsync(MailboxLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return WithLockUnsyncedAsync(() =>
        {
            using var transaction = _connection.BeginTransaction();
            using var release = Command("UPDATE mailbox_lanes SET lease_token = NULL, lease_until = NULL WHERE mailbox = $m AND region = $r AND lease_token = $token", transaction);
            Bind(release, ("$m", lease.Lane.Mailbox), ("$r", lease.Lane.Region), ("$token", lease.Token));
            release.ExecuteNonQuery();
            using var forget = Command("""
                DELETE FROM mailbox_lanes WHERE mailbox = $m AND region = $r AND lease_token IS NULL
                AND NOT EXISTS (SELECT 1 FROM mailbox_entries WHERE mailbox = $m AND region = $r)
                """, transaction);
            Bind(forget, ("$m", lease.Lane.Mailbox), ("$r", lease.Lane.Region));
            forget.ExecuteNonQuery();
            transaction.Commit();
            return 0;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<MailboxEntry>> PeekAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        return ReadAsync<IReadOnlyList<MailboxEntry>>(() =>
        {
            using var command = Query($"SELECT {ReadColumns("e")} FROM mailbox_entries e {JoinBody("e")} WHERE e.mailbox = $m AND e.region = $r ORDER BY e.seq LIMIT $count");
            Bind(command, ("$m", lane.Mailbox), ("$r", lane.Region), ("$count", count));
            using var reader = command.ExecuteReader();
            var entries = new List<MailboxEntry>();
            while (reader.Read())
            {
                entries.Add(ReadEntry(reader));
            }

            return entries;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<MailboxEntry>> PeekDueAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var now = Now();
        return ReadAsync<IReadOnlyList<MailboxEntry>>(() =>
        {
            using var command = Query($"SELECT {ReadColumns("e")} FROM mailbox_entries e {JoinBody("e")} WHERE e.mailbox = $m AND e.region = $r AND e.next_attempt_at <= $now ORDER BY e.seq LIMIT $count");
            Bind(command, ("$m", lane.Mailbox), ("$r", lane.Region), ("$now", now), ("$count", count));
            using var reader = command.ExecuteReader();
            var entries = new List<MailboxEntry>();
            while (reader.Read())
            {
                entries.Add(ReadEntry(reader));
            }

            return entries;
        }, cancellationToken);
    }

    public Task<MailboxLaneChange> RetryNowAsync(string mailbox, string? region, CancellationToken cancellationToken = default)
        => ChangeLanesAsync(mailbox, region, (filter, now, transaction) =>
        {
            using var retry = Command($"UPDATE mailbox_entries SET next_attempt_at = $now WHERE {filter} AND next_attempt_at > $now", transaction);
            Bind(retry, ("$now", now), ("$m", mailbox), ("$r", region));
            return retry.ExecuteNonQuery();
        }, cancellationToken);

    public Task<MailboxLaneChange> PurgeLanesAsync(string mailbox, string? region, CancellationToken cancellationToken = default)
        => ChangeLanesAsync(mailbox, region, (filter, now, transaction) =>
        {
            using var purge = Command($"DELETE FROM mailbox_entries WHERE {filter}", transaction);
            Bind(purge, ("$m", mailbox), ("$r", region));
            var entries = purge.ExecuteNonQuery();
            // A lane still leased keeps its row until its drainer gives it back (the release forgets an empty lane).
            using var forget = Command($"DELETE FROM mailbox_lanes WHERE {filter} AND (lease_until IS NULL OR lease_until <= $now)", transaction);
            Bind(forget, ("$m", mailbox), ("$r", region), ("$now", now));
            forget.ExecuteNonQuery();
            return entries;
        }, cancellationToken);

    /// <summary>One operator change of a mailbox's lanes (one region's, or all), in one transaction: the lanes counted first.</summary>
    private Task<MailboxLaneChange> ChangeLanesAsync(string mailbox, string? region, Func<string, long, SqliteTransaction, int> change,
        CancellationToken cancellationToken)
    {
        var filter = LaneFilter(mailbox, region);
        var now = Now();
        return WithLockAsync(() =>
        {
            using var transaction = _connection.BeginTransaction();
            var lanes = CountLanes(filter, mailbox, region, transaction);
            var entries = change(filter, now, transaction);
            transaction.Commit();
            return new MailboxLaneChange(lanes, entries);
        }, cancellationToken);
    }

    public Task<bool> RescheduleAsync(MailboxLease lease, string deliveryId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default) =>
        UpdateLeasedEntryAsync(lease, deliveryId, "attempts = attempts + 1, next_attempt_at = $next", nextAttemptAt, cancellationToken);

    public Task<bool> PostponeAsync(MailboxLease lease, string deliveryId, DateTimeOffset notBefore, CancellationToken cancellationToken = default) =>
        UpdateLeasedEntryAsync(lease, deliveryId, "next_attempt_at = MAX(next_attempt_at, $next)", notBefore, cancellationToken);

    public Task<bool> AckAsync(MailboxLane lane, string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        return WithLockUnsyncedAsync(() =>
        {
            using var command = Command("DELETE FROM mailbox_entries WHERE delivery_id = $id AND mailbox = $m AND region = $r");
            Bind(command, ("$id", deliveryId), ("$m", lane.Mailbox), ("$r", lane.Region));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    /// <summary>The acks of a delivered chunk in one transaction (and one trip through the write lock).</summary>
    public Task<IReadOnlyList<bool>> AckManyAsync(MailboxLane lane, IReadOnlyList<string> deliveryIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        ArgumentNullException.ThrowIfNull(deliveryIds);
        return WithLockUnsyncedAsync<IReadOnlyList<bool>>(() =>
        {
            using var transaction = _connection.BeginTransaction();
            using var command = Command("DELETE FROM mailbox_entries WHERE delivery_id = $id AND mailbox = $m AND region = $r", transaction);
            var acked = new bool[deliveryIds.Count];
            for (var i = 0; i < acked.Length; i++)
            {
                Bind(command, ("$id", deliveryIds[i]), ("$m", lane.Mailbox), ("$r", lane.Region));
                acked[i] = command.ExecuteNonQuery() == 1;
            }

            transaction.Commit();
            return acked;
        }, cancellationToken);
    }

    public Task<bool> DeadLetterAsync(MailboxLane lane, string deliveryId, DeadLetterCause cause, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lane);
        ArgumentNullException.ThrowIfNull(cause);
        var now = Now();
        return WithLockAsync(() =>
        {
            using var transaction = _connection.BeginTransaction();
            using var copy = Command($"""
                INSERT INTO mailbox_dead_letters ({StoredColumns}, dead_at, reason, last_status, last_error)
                SELECT {StoredColumns}, $now, $reason, $status, $error FROM mailbox_entries
                WHERE delivery_id = $id AND mailbox = $m AND region = $r
                """, transaction);
            Bind(copy, ("$now", now), ("$reason", cause.Reason), ("$status", cause.LastStatus), ("$error", cause.LastError),
                ("$id", deliveryId), ("$m", lane.Mailbox), ("$r", lane.Region));
            if (copy.ExecuteNonQuery() != 1)
            {
                return false;
            }

            using var delete = Command("DELETE FROM mailbox_entries WHERE delivery_id = $id", transaction);
            Bind(delete, ("$id", deliveryId));
            delete.ExecuteNonQuery();
            transaction.Commit();
            return true;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<MailboxSummary>> ListMailboxesAsync(int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<MailboxSummary>>(() =>
        {
            using var command = Query("""
                SELECT g.mailbox, g.region, g.depth, h.received_at, h.attempts, h.next_attempt_at FROM (
                    SELECT mailbox, region, COUNT(*) AS depth, MIN(seq) AS head FROM mailbox_entries GROUP BY mailbox, region) g
                JOIN mailbox_entries h ON h.seq = g.head
                ORDER BY g.head LIMIT $limit
                """);
            Bind(command, ("$limit", limit));
            using var reader = command.ExecuteReader();
            var summaries = new List<MailboxSummary>();
            while (reader.Read())
            {
                summaries.Add(new MailboxSummary(new MailboxLane(reader.GetString(0), reader.GetString(1)), reader.GetInt64(2),
                    EntryCodec.FromMilliseconds(reader.GetInt64(3)), reader.GetInt32(4), EntryCodec.FromMilliseconds(reader.GetInt64(5))));
            }

            return summaries;
        }, cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string? mailbox, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<DeadLetter>>(() =>
        {
            var filter = mailbox is null ? "" : "WHERE d.mailbox = $m";
            using var command = Query($"""
                SELECT {ReadColumns("d")}, d.dead_at, d.reason, d.last_status, d.last_error FROM mailbox_dead_letters d {JoinBody("d")}
                {filter} ORDER BY d.dead_at, d.rowid LIMIT $limit
                """);
            Bind(command, ("$m", mailbox), ("$limit", limit));
            using var reader = command.ExecuteReader();
            var letters = new List<DeadLetter>();
            while (reader.Read())
            {
                var cause = new DeadLetterCause(reader.GetString(12), reader.IsDBNull(13) ? null : reader.GetInt32(13), reader.IsDBNull(14) ? null : reader.GetString(14));
                letters.Add(new DeadLetter(ReadEntry(reader), cause, EntryCodec.FromMilliseconds(reader.GetInt64(11))));
            }

            return letters;
        }, cancellationToken);

    public Task<bool> ReplayDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        var now = Now();
        return WithLockAsync(() =>
        {
            using var transaction = _connection.BeginTransaction();
            using var copy = Command($"""
                INSERT INTO mailbox_entries ({StoredColumns})
                SELECT delivery_id, mailbox, region, method, path, headers, body, received_at, 0, $now, trace_parent, body_id
                FROM mailbox_dead_letters WHERE delivery_id = $id
                """, transaction);
            Bind(copy, ("$now", now), ("$id", deliveryId));
            if (copy.ExecuteNonQuery() != 1)
            {
                return false;
            }

            using var lane = Command("""
                INSERT INTO mailbox_lanes (mailbox, region) SELECT mailbox, region FROM mailbox_dead_letters WHERE delivery_id = $id
                ON CONFLICT DO NOTHING
                """, transaction);
            Bind(lane, ("$id", deliveryId));
            lane.ExecuteNonQuery();
            using var delete = Command("DELETE FROM mailbox_dead_letters WHERE delivery_id = $id", transaction);
            Bind(delete, ("$id", deliveryId));
            delete.ExecuteNonQuery();
            transaction.Commit();
            return true;
        }, cancellationToken);
    }

    public Task<bool> PurgeDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default) =>
        WithLockAsync(() =>
        {
            using var command = Command("DELETE FROM mailbox_dead_letters WHERE delivery_id = $id");
            Bind(command, ("$id", deliveryId));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    public Task<MailboxStats> GetStatsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(() =>
        {
            using var command = Query("""
                SELECT (SELECT COUNT(*) FROM mailbox_entries),
                       (SELECT COUNT(*) FROM mailbox_dead_letters),
                       (SELECT MIN(e.received_at) FROM mailbox_lanes l JOIN mailbox_entries e ON e.seq =
                           (SELECT seq FROM mailbox_entries WHERE mailbox = l.mailbox AND region = l.region ORDER BY seq LIMIT 1))
                """);
            using var reader = command.ExecuteReader();
            reader.Read();
            return new MailboxStats(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : EntryCodec.FromMilliseconds(reader.GetInt64(2)));
        }, cancellationToken);

    public void Dispose()
    {
        // Appends already queued are still written; later ones are refused.
        _appends.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(30));
        _appendCommands?.Dispose();
        _syncNormal?.Dispose();
        _syncFull?.Dispose();
        _connection.Dispose();
        _reader.Dispose();
        _lock.Dispose();
        _readLock.Dispose();
    }

    /// <summary>
    /// The group commit. Waits for an append, then for the write lock, then takes every append queued by then into one
    /// transaction: appends that arrive while a commit runs (or while another write holds the lock) go together into
    /// the next one. A failed commit of several appends is retried one append at a time, so a bad append fails only
    /// its own caller and a disk that refuses every write fails each caller; no caller is answered before the commit
    /// that holds its entries.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var reader = _appends.Reader;
        var batch = new List<PendingAppend>(MaxAppendsPerCommit);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _lock.WaitAsync().ConfigureAwait(false);
            try
            {
                while (batch.Count < MaxAppendsPerCommit && reader.TryRead(out var pending))
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

                if (batch.Count > 0 && !TryCommit(batch, out var error))
                {
                    if (batch.Count == 1)
                    {
                        batch[0].Done.TrySetException(error);
                    }
                    else
                    {
                        foreach (var one in batch)
                        {
                            if (!TryCommit([one], out var own))
                            {
                                one.Done.TrySetException(own);
                            }
                        }
                    }
                }
            }
            finally
            {
                _lock.Release();
                batch.Clear();
            }
        }
    }

    /// <summary>One transaction for all of <paramref name="batch"/>; on success every caller in it is answered.</summary>
    private bool TryCommit(List<PendingAppend> batch, out Exception error)
    {
        try
        {
            // Prepared once and kept: a commit binds values into the same statements instead of parsing them again.
            var commands = _appendCommands ??= new AppendCommands(_connection);
            using (var transaction = _connection.BeginTransaction())
            {
                commands.Enlist(transaction);
                foreach (var pending in batch)
                {
                    commands.Write(pending.Entries);
                }

                transaction.Commit();
            }

            Interlocked.Increment(ref _commits);
            foreach (var pending in batch)
            {
                _metrics?.Saved(pending.Entries.Count);
                pending.Done.TrySetResult();
            }

            error = null!;
            return true;
        }
        catch (Exception ex)
        {
            // Whatever failed, the callers must hear it (and the loop must live on for the next appends).
            error = ex;
            return false;
        }
        finally
        {
            _appendCommands?.EndCommit();
        }
    }

    /// <summary>
    /// The statements of an append, prepared on the write connection with their parameters made once. Used only by the
    /// writer loop under the write lock. A lane already written in the current commit is not upserted again.
    /// </summary>
    private sealed class AppendCommands : IDisposable
    {
        private readonly SqliteCommand _insert;
        private readonly SqliteCommand _lane;
        private readonly SqliteCommand _body;
        private readonly HashSet<(string Mailbox, string Region)> _lanesThisCommit = [];

        public AppendCommands(SqliteConnection connection)
        {
            _insert = Prepared(connection, $"INSERT INTO mailbox_entries ({StoredColumns}) VALUES ($id, $m, $r, $method, $path, $headers, $body, $received, $attempts, $next, $trace, $bodyId)",
                ("$id", SqliteType.Text), ("$m", SqliteType.Text), ("$r", SqliteType.Text), ("$method", SqliteType.Text),
                ("$path", SqliteType.Text), ("$headers", SqliteType.Text), ("$body", SqliteType.Blob), ("$received", SqliteType.Integer),
                ("$attempts", SqliteType.Integer), ("$next", SqliteType.Integer), ("$trace", SqliteType.Text), ("$bodyId", SqliteType.Integer));
            _lane = Prepared(connection, "INSERT INTO mailbox_lanes (mailbox, region) VALUES ($m, $r) ON CONFLICT DO NOTHING",
                ("$m", SqliteType.Text), ("$r", SqliteType.Text));
            _body = Prepared(connection, "INSERT INTO mailbox_bodies (headers, body, refs) VALUES ($headers, $body, 0) RETURNING id",
                ("$headers", SqliteType.Text), ("$body", SqliteType.Blob));
        }

        public void Enlist(SqliteTransaction transaction)
        {
            _insert.Transaction = transaction;
            _lane.Transaction = transaction;
            _body.Transaction = transaction;
        }

        public void EndCommit()
        {
            _lanesThisCommit.Clear();
            Enlist(null!);
        }

        /// <summary>The entries of one webhook; several regions share one body row when their headers and body are the same.</summary>
        public void Write(IReadOnlyList<MailboxEntry> entries)
        {
            long? bodyId = null;
            if (EntryCodec.SharesBody(entries))
            {
                _body.Parameters[0].Value = EntryCodec.WriteHeaders(entries[0].Headers);
                _body.Parameters[1].Value = EntryCodec.BodyArray(entries[0].Body);
                bodyId = (long)_body.ExecuteScalar()!;
            }

            foreach (var entry in entries)
            {
                var values = _insert.Parameters;
                values[0].Value = entry.DeliveryId;
                values[1].Value = entry.Mailbox;
                values[2].Value = entry.Region;
                values[3].Value = entry.Method;
                values[4].Value = entry.PathAndQuery;
                values[5].Value = bodyId is null ? EntryCodec.WriteHeaders(entry.Headers) : "[]";
                values[6].Value = bodyId is null ? EntryCodec.BodyArray(entry.Body) : Array.Empty<byte>();
                values[7].Value = EntryCodec.ToMilliseconds(entry.ReceivedAt);
                values[8].Value = entry.Attempts;
                values[9].Value = EntryCodec.DueMilliseconds(entry);
                values[10].Value = (object?)entry.TraceParent ?? DBNull.Value;
                values[11].Value = (object?)bodyId ?? DBNull.Value;
                _insert.ExecuteNonQuery();
                if (_lanesThisCommit.Add((entry.Mailbox, entry.Region)))
                {
                    _lane.Parameters[0].Value = entry.Mailbox;
                    _lane.Parameters[1].Value = entry.Region;
                    _lane.ExecuteNonQuery();
                }
            }
        }

        public void Dispose()
        {
            _insert.Dispose();
            _lane.Dispose();
            _body.Dispose();
        }

        private static SqliteCommand Prepared(SqliteConnection connection, string sql, params (string Name, SqliteType Type)[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, type) in parameters)
            {
                command.Parameters.Add(name, type);
            }

            command.Prepare();
            return command;
        }
    }

    /// <summary>
    /// Schema version 2: bodies stored once per webhook. A file of version 1 (or of no version) gets the body table,
    /// a nullable <c>body_id</c> in the entry and dead-letter tables and the reference-counting triggers; its rows keep
    /// their bodies inline and are read as before. A file of a newer version is refused rather than misread.
    /// </summary>
    private void MigrateToSharedBodies()
    {
        using var version = Command("PRAGMA user_version");
        var current = Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (current > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The mailbox file {FilePath} has schema version {current}, written by a newer version of the proxy; this version reads up to {SchemaVersion}.");
        }

        if (current == SchemaVersion)
        {
            return;
        }

        using var transaction = _connection.BeginTransaction();
        foreach (var table in new[] { "mailbox_entries", "mailbox_dead_letters" })
        {
            using var columns = Command($"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = 'body_id'", transaction);
            if ((long)columns.ExecuteScalar()! == 0)
            {
                using var alter = Command($"ALTER TABLE {table} ADD COLUMN body_id INTEGER", transaction);
                alter.ExecuteNonQuery();
            }
        }

        using var create = Command($"""
            CREATE TABLE IF NOT EXISTS mailbox_bodies (
                id INTEGER PRIMARY KEY,
                headers TEXT NOT NULL,
                body BLOB NOT NULL,
                refs INTEGER NOT NULL);
            {ReferenceTriggers("mailbox_entries")}
            {ReferenceTriggers("mailbox_dead_letters")}
            PRAGMA user_version = {SchemaVersion};
            """, transaction);
        create.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>A row that points at a body holds one reference; the body goes with its last reference.</summary>
    private static string ReferenceTriggers(string table) => $"""
        CREATE TRIGGER IF NOT EXISTS {table}_body_ref AFTER INSERT ON {table} WHEN new.body_id IS NOT NULL
        BEGIN UPDATE mailbox_bodies SET refs = refs + 1 WHERE id = new.body_id; END;
        CREATE TRIGGER IF NOT EXISTS {table}_body_unref AFTER DELETE ON {table} WHEN old.body_id IS NOT NULL
        BEGIN
            UPDATE mailbox_bodies SET refs = refs - 1 WHERE id = old.body_id;
            DELETE FROM mailbox_bodies WHERE id = old.body_id AND refs <= 0;
        END;
        """;

    /// <summary>The entry columns of <paramref name="alias"/> as <see cref="ReadEntry"/> reads them, the shared body in place of the inline one.</summary>
    private static string ReadColumns(string alias) =>
        $"{alias}.delivery_id, {alias}.mailbox, {alias}.region, {alias}.method, {alias}.path, COALESCE(b.headers, {alias}.headers), "
        + $"COALESCE(b.body, {alias}.body), {alias}.received_at, {alias}.attempts, {alias}.next_attempt_at, {alias}.trace_parent";

    private static string JoinBody(string alias) => $"LEFT JOIN mailbox_bodies b ON b.id = {alias}.body_id";

    private sealed class PendingAppend(IReadOnlyList<MailboxEntry> entries, CancellationToken cancellationToken)
    {
        public IReadOnlyList<MailboxEntry> Entries { get; } = entries;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private Task<bool> UpdateLeasedEntryAsync(MailboxLease lease, string deliveryId, string assignment, DateTimeOffset instant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return WithLockUnsyncedAsync(() =>
        {
            using var command = Command($"""
                UPDATE mailbox_entries SET {assignment}
                WHERE delivery_id = $id AND mailbox = $m AND region = $r
                AND EXISTS (SELECT 1 FROM mailbox_lanes WHERE mailbox = $m AND region = $r AND lease_token = $token)
                """);
            Bind(command, ("$next", EntryCodec.ToMilliseconds(instant)), ("$id", deliveryId), ("$m", lease.Lane.Mailbox),
                ("$r", lease.Lane.Region), ("$token", lease.Token));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    private static string LaneFilter(string mailbox, string? region)
    {
        MailboxNames.ThrowIfInvalidMailbox(mailbox);
        if (region is null)
        {
            return "mailbox = $m";
        }

        MailboxNames.ThrowIfInvalidRegion(region);
        return "mailbox = $m AND region = $r";
    }

    private int CountLanes(string filter, string mailbox, string? region, SqliteTransaction transaction)
    {
        using var count = Command($"SELECT COUNT(DISTINCT region) FROM mailbox_entries WHERE {filter}", transaction);
        Bind(count, ("$m", mailbox), ("$r", region));
        return Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static MailboxEntry ReadEntry(SqliteDataReader reader) => new()
    {
        DeliveryId = reader.GetString(0),
        Mailbox = reader.GetString(1),
        Region = reader.GetString(2),
        Method = reader.GetString(3),
        PathAndQuery = reader.GetString(4),
        Headers = EntryCodec.ReadHeaders(reader.GetString(5)),
        Body = (byte[])reader.GetValue(6),
        ReceivedAt = EntryCodec.FromMilliseconds(reader.GetInt64(7)),
        Attempts = reader.GetInt32(8),
        NextAttemptAt = EntryCodec.FromMilliseconds(reader.GetInt64(9)),
        TraceParent = reader.IsDBNull(10) ? null : reader.GetString(10),
    };

    private long Now() => EntryCodec.ToMilliseconds(_time.GetUtcNow());

    private Task<T> ReadAsync<T>(Func<T> work, CancellationToken cancellationToken) => UnderAsync(_readLock, work, cancellationToken);

    private Task<T> WithLockAsync<T>(Func<T> work, CancellationToken cancellationToken) => UnderAsync(_lock, work, cancellationToken);

    /// <summary>
    /// The drainer's bookkeeping (leases, acks, attempt counts): committed without an fsync of its own, because losing
    /// it on a power cut only repeats work (a delivered entry delivered again, at least once as ever; a lease that
    /// expires; an attempt not counted). It is in the WAL in order, so the next append's fsync makes it durable too, and
    /// a power cut can never drop an appended webhook written after it. A process crash loses nothing either way.
    /// </summary>
    private Task<T> WithLockUnsyncedAsync<T>(Func<T> work, CancellationToken cancellationToken) => !_syncEveryCommit
        ? WithLockAsync(work, cancellationToken)
        : UnderAsync(_lock, () =>
        {
            // Prepared once (under the write lock, like every use): the drainer switches for each bookkeeping write.
            (_syncNormal ??= PreparedCommand("PRAGMA synchronous = NORMAL")).ExecuteNonQuery();
            try
            {
                return work();
            }
            finally
            {
                (_syncFull ??= PreparedCommand("PRAGMA synchronous = FULL")).ExecuteNonQuery();
            }
        }, cancellationToken);

    private SqliteCommand PreparedCommand(string sql)
    {
        var command = Command(sql);
        command.Prepare();
        return command;
    }

    private static async Task<T> UnderAsync<T>(SemaphoreSlim gate, Func<T> work, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return work();
        }
        finally
        {
            gate.Release();
        }
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private SqliteCommand Query(string sql)
    {
        var command = _reader.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private void Execute(string sql)
    {
        using var command = Command(sql);
        command.ExecuteNonQuery();
    }

    private static void Bind(SqliteCommand command, params (string Name, object? Value)[] values)
    {
        command.Parameters.Clear();
        foreach (var (name, value) in values)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }
}
