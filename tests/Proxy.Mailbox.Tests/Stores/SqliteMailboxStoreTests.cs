using Microsoft.Data.Sqlite;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Stores;

public sealed class SqliteMailboxStoreTests : MailboxStoreContract
{
    private readonly TempDirectory _directory = new();

    private string FilePath => Path.Combine(_directory.Path, "data", "mailbox.db");

    private protected override IMailboxStore CreateStore(MailboxOrdering? ordering = null) => new SqliteMailboxStore(FilePath, SqliteDurability.Full, Time, ordering: ordering);

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
}
