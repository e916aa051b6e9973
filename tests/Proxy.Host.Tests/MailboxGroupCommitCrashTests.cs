using Proxy.Mailbox;

namespace Proxy.Host.Tests;

/// <summary>
/// Group commit keeps the accept promise: many webhooks accepted at the same time share SQLite commits, and the proxy
/// process is killed with SIGKILL the moment enough answers came back, while other requests are still in flight.
/// Every webhook that was answered 202 must be in the file, for each of its regions.
/// </summary>
public sealed class MailboxGroupCommitCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("proxy-group-commit-").FullName;

    public ValueTask InitializeAsync() => new(GroupCommitCrash.WriteConfigAsync(_dir));

    [Fact]
    public async Task Group_commit_N_concurrent_accepts_SIGKILL_right_after_the_answers_every_202d_entry_is_in_the_store()
    {
        var proxy = ProxyProcess.Start($"ConfigDir={_dir}", $"Mailbox:DataDir={Path.Combine(_dir, "data")}", "Mailbox:DrainerEnabled=false");
        await proxy.WaitReadyAsync(_ => true);
        var (answered, sent) = await GroupCommitCrash.SendUntilKilledAsync(proxy);
        await proxy.DisposeAsync();

        using var store = new SqliteMailboxStore(Path.Combine(_dir, "data", "mailbox.db"), SqliteDurability.Full, TimeProvider.System);
        GroupCommitCrash.ShouldHoldEveryAnswered(await GroupCommitCrash.StoredAsync(store), answered, sent, output);
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
