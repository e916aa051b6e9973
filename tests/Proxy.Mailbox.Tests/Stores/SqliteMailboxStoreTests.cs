using System.Text;
using Microsoft.Data.Sqlite;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Stores;

public sealed class SqliteMailboxStoreTests : MailboxStoreContract
{
    private readonly TempDirectory _directory = new();

    private string FilePath => Path.Combine(_directory.Path, "data", "mailbox.db");

    private protected override IMailboxStore CreateStore(MailboxOrdering? ordering = null) => new SqliteMailboxStore(FilePath, SqliteDurability.Full, Time, ordering: ordering);

    private protected override Task<long> CountSharedBodiesAsync() => Task.FromResult(Scalar<long>("SELECT COUNT(*) FROM mailbox_bodies"));

    private T Scalar<T>(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={FilePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={FilePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task The_file_is_in_wal_mode_with_full_synchronous_commits()
    {
        await Store.AppendAsync([Entry("github:1", "us", Start)], Ct);

        using var connection = new SqliteConnection($"Data Source={FilePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        command.ExecuteScalar().Should().Be("wal");
        File.Exists(FilePath + "-wal").Should().BeTrue("commits go to the write-ahead log");
    }

    [Fact]
    public async Task An_append_that_cannot_be_written_throws()
    {
        await Store.AppendAsync([Entry("github:1", "us", Start)], Ct);
        using (var connection = new SqliteConnection($"Data Source={FilePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse BEFORE INSERT ON mailbox_entries BEGIN SELECT RAISE(ABORT, 'disk says no'); END";
            command.ExecuteNonQuery();
        }

        var append = () => Store.AppendAsync([Entry("github:1", "us", Start)], Ct);

        await append.Should().ThrowAsync<SqliteException>("the accept path must see the failure and answer 503");
        (await Store.GetStatsAsync(Ct)).Pending.Should().Be(1);
    }

    [Fact]
    public async Task Appends_that_wait_for_the_writer_share_one_commit_and_each_is_answered_after_it()
    {
        var store = (SqliteMailboxStore)Store;
        await store.AppendAsync([Entry("github:0", "us", Start)], Ct);
        var before = store.Commits;

        // Another writer on the file (a second process) holds the write lock while 50 accepts arrive.
        Task[] appends;
        using (var other = new SqliteConnection($"Data Source={FilePath};Pooling=False"))
        {
            other.Open();
            using var begin = other.CreateCommand();
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
            appends = Enumerable.Range(1, 50).Select(i => store.AppendAsync([Entry($"github:{i % 5}", "us", Start.AddSeconds(i))], Ct)).ToArray();
            await Task.Delay(200, Ct);
            appends.Should().OnlyContain(t => !t.IsCompleted, "no caller is answered before its entry is committed");
            using var commit = other.CreateCommand();
            commit.CommandText = "COMMIT";
            commit.ExecuteNonQuery();
        }

        await Task.WhenAll(appends);

        (store.Commits - before).Should().BeInRange(1, 2, "the first append may have gone alone; every later one waited and went together");
        Scalar<long>("SELECT COUNT(*) FROM mailbox_entries").Should().Be(51);
    }

    [Fact]
    public async Task Delivery_bookkeeping_commits_without_its_own_fsync_and_the_next_append_syncs_again_even_after_a_failure()
    {
        var store = (SqliteMailboxStore)Store;
        var entry = Entry("github:1", "us", Start);
        var second = Entry("github:1", "us", Start.AddSeconds(1));
        await store.AppendAsync([entry], Ct);
        await store.AppendAsync([second], Ct);

        var lease = await store.TryClaimAsync(entry.Lane, TimeSpan.FromMinutes(1), Ct);
        lease.Should().NotBeNull();
        (await store.AckAsync(entry.Lane, entry.DeliveryId, Ct)).Should().BeTrue();
        (await store.SynchronousLevelAsync()).Should().Be(2, "appends commit with synchronous=FULL after an ack");

        Execute("CREATE TRIGGER refuse BEFORE DELETE ON mailbox_entries BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
        var ack = () => store.AckAsync(second.Lane, second.DeliveryId, Ct);
        await ack.Should().ThrowAsync<SqliteException>();
        (await store.SynchronousLevelAsync()).Should().Be(2, "a failed bookkeeping write leaves FULL behind too");

        await store.ReleaseAsync(lease!, Ct);
        (await store.SynchronousLevelAsync()).Should().Be(2);
        Scalar<long>("SELECT COUNT(*) FROM mailbox_entries").Should().Be(1, "the ack removed the first entry, the refused one kept the second");
    }

    [Fact]
    public async Task A_commit_that_fails_fails_every_caller_in_it_and_stores_nothing_of_theirs()
    {
        await Store.AppendAsync([Entry("github:1", "us", Start)], Ct);
        Execute("CREATE TRIGGER refuse BEFORE INSERT ON mailbox_entries BEGIN SELECT RAISE(ABORT, 'disk says no'); END");

        var appends = Enumerable.Range(0, 20).Select(i => Store.AppendAsync([Entry($"github:{i % 3}", "us", Start)], Ct)).ToArray();

        foreach (var append in appends)
        {
            await append.Invoking(a => a).Should().ThrowAsync<SqliteException>("no caller is answered 202 for what was not committed");
        }

        Scalar<long>("SELECT COUNT(*) FROM mailbox_entries").Should().Be(1);
        Execute("DROP TRIGGER refuse");
        await Store.AppendAsync([Entry("github:1", "us", Start)], Ct);
        Scalar<long>("SELECT COUNT(*) FROM mailbox_entries").Should().Be(2, "the writer goes on after a failed commit");
    }

    [Fact]
    public async Task An_append_that_fails_in_a_shared_commit_fails_alone()
    {
        await Store.AppendAsync([Entry("github:1", "us", Start)], Ct);
        Execute("CREATE TRIGGER refuse BEFORE INSERT ON mailbox_entries WHEN new.mailbox = 'github:bad' BEGIN SELECT RAISE(ABORT, 'bad'); END");

        var good = Enumerable.Range(0, 10).Select(i => Store.AppendAsync([Entry($"github:{i}", "us", Start)], Ct)).ToList();
        var bad = Store.AppendAsync([Entry("github:bad", "us", Start)], Ct);
        good.AddRange(Enumerable.Range(10, 10).Select(i => Store.AppendAsync([Entry($"github:{i}", "us", Start)], Ct)));

        await bad.Invoking(a => a).Should().ThrowAsync<SqliteException>();
        await Task.WhenAll(good);
        Scalar<long>("SELECT COUNT(*) FROM mailbox_entries").Should().Be(21);
    }

    [Fact]
    public async Task A_file_written_by_schema_version_1_opens_keeps_its_entries_and_takes_shared_bodies()
    {
        // The layout of the previous version: bodies in the entry rows, no body table, user_version 0.
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        Execute("""
            CREATE TABLE mailbox_entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL UNIQUE, mailbox TEXT NOT NULL,
                region TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
                received_at INTEGER NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, trace_parent TEXT);
            CREATE TABLE mailbox_lanes (mailbox TEXT NOT NULL, region TEXT NOT NULL, lease_token TEXT, lease_until INTEGER,
                PRIMARY KEY (mailbox, region)) WITHOUT ROWID;
            CREATE TABLE mailbox_dead_letters (delivery_id TEXT NOT NULL PRIMARY KEY, mailbox TEXT NOT NULL, region TEXT NOT NULL,
                method TEXT NOT NULL, path TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL, received_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, trace_parent TEXT, dead_at INTEGER NOT NULL,
                reason TEXT NOT NULL, last_status INTEGER, last_error TEXT);
            INSERT INTO mailbox_entries (delivery_id, mailbox, region, method, path, headers, body, received_at, attempts, next_attempt_at)
                VALUES ('old-1', 'github:1', 'us', 'POST', '/old', '[["X-GitHub-Event","push"]]', x'6f6c64', 0, 0, 0);
            INSERT INTO mailbox_lanes (mailbox, region) VALUES ('github:1', 'us');
            INSERT INTO mailbox_dead_letters (delivery_id, mailbox, region, method, path, headers, body, received_at, attempts,
                next_attempt_at, dead_at, reason) VALUES ('old-2', 'github:2', 'eu', 'POST', '/old', '[]', x'64656164', 0, 3, 0, 0, 'not_found');
            """);

        var fanOut = MailboxEntry.ForRegions("github:1", ["eu", "us"], "POST", "/new", [], "new"u8.ToArray(), Start);
        await Store.AppendAsync(fanOut, Ct);

        Scalar<long>("PRAGMA user_version").Should().Be(SqliteMailboxStore.SchemaVersion);
        var us = await Store.PeekAsync(new MailboxLane("github:1", "us"), 10, Ct);
        us.Select(e => Encoding.UTF8.GetString(e.Body.Span)).Should().Equal("old", "new");
        us[0].Headers.Should().ContainSingle().Which.Should().Be(new KeyValuePair<string, string>("X-GitHub-Event", "push"));
        (await Store.ListDeadLettersAsync(null, 10, Ct)).Single().Entry.Body.ToArray().Should().Equal("dead"u8.ToArray());
        (await Store.AckAsync(new MailboxLane("github:1", "us"), "old-1", Ct)).Should().BeTrue();
        (await Store.ReplayDeadLetterAsync("old-2", Ct)).Should().BeTrue();
        (await Store.PeekAsync(new MailboxLane("github:2", "eu"), 10, Ct)).Single().Body.ToArray().Should().Equal("dead"u8.ToArray());
        (await CountSharedBodiesAsync()).Should().Be(1);
    }

    [Fact]
    public void A_file_of_a_newer_schema_is_refused_with_a_message()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        Execute("PRAGMA user_version = 99");

        var open = () => Open();

        open.Should().Throw<InvalidOperationException>().WithMessage("*schema version 99*newer version*");
    }
}
