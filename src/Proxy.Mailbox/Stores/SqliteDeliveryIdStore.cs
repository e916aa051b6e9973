using Microsoft.Data.Sqlite;
using Proxy.Routing.Duplicates;

namespace Proxy.Mailbox;

/// <summary>
/// Delivery ids for duplicate suppression in the embedded deployment: a SQLite file of its own beside the mailbox's
/// (<c>delivery-ids.db</c> in <c>Mailbox:DataDir</c>), so remembered ids survive a restart and never wait on a mailbox
/// write. A claim is one upsert that takes the key only when it is free or expired; expired rows are purged in small
/// batches as claims go by. <c>synchronous=NORMAL</c>: losing the last ids in a power cut only lets a redelivery through.
/// </summary>
internal sealed class SqliteDeliveryIdStore : IDeliveryIdStore, IDisposable
{
    public const string FileName = "delivery-ids.db";

    private const int PurgeEvery = 1024;
    private const int PurgeBatch = 4096;

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly TimeProvider _time;
    private int _claimsSincePurge;

    public SqliteDeliveryIdStore(string filePath, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        _time = time;
        var directory = Path.GetDirectoryName(Path.GetFullPath(filePath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        FilePath = filePath;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = filePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 5,
        }.ToString());
        _connection.Open();
        using var setup = _connection.CreateCommand();
        setup.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 2000;
            CREATE TABLE IF NOT EXISTS delivery_ids (
                key TEXT NOT NULL PRIMARY KEY,
                token TEXT NOT NULL,
                expires_at INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS ix_delivery_ids_expires_at ON delivery_ids (expires_at);
            """;
        setup.ExecuteNonQuery();
    }

    public string FilePath { get; }

    public string Kind => "sqlite";

    public async ValueTask<DeliveryClaim> TryClaimAsync(string key, TimeSpan window, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (++_claimsSincePurge >= PurgeEvery)
            {
                _claimsSincePurge = 0;
                Execute("DELETE FROM delivery_ids WHERE key IN (SELECT key FROM delivery_ids WHERE expires_at <= $now LIMIT $batch)",
                    ("$now", now), ("$batch", PurgeBatch));
            }

            var claim = DeliveryClaim.NewClaim();
            var taken = Execute("""
                INSERT INTO delivery_ids (key, token, expires_at) VALUES ($key, $token, $expires)
                ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
                WHERE delivery_ids.expires_at <= $now
                """, ("$key", key), ("$token", claim.Token!), ("$expires", now + (long)window.TotalMilliseconds), ("$now", now));
            return taken == 1 ? claim : DeliveryClaim.Duplicate;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask ReleaseAsync(string key, string token, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Execute("DELETE FROM delivery_ids WHERE key = $key AND token = $token", ("$key", key), ("$token", token));
        }
        finally
        {
            _lock.Release();
        }
    }

    private int Execute(string sql, params ReadOnlySpan<(string Name, object Value)> parameters)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _connection.Dispose();
        _lock.Dispose();
    }
}
