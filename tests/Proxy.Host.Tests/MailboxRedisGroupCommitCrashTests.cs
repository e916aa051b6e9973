using Proxy.Mailbox;
using Proxy.Testing;
using StackExchange.Redis;

namespace Proxy.Host.Tests;

/// <summary>
/// The Redis twin of <see cref="MailboxGroupCommitCrashTests"/>: many webhooks accepted at the same time share
/// pipelined flushes to a real redis-server, and the proxy process is killed with SIGKILL the moment enough answers
/// came back. The store calls an append durable when Redis acknowledged its script and the index write; with
/// <c>appendonly yes</c> and <c>appendfsync always</c> (what <see cref="Proxy.Testing.RedisServer.AppendOnly"/> starts) Redis writes
/// and fsyncs the AOF before it answers. So the test then SIGKILLs Redis too, starts it again from its AOF, and reads
/// through a fresh store: every webhook answered 202 must be there, for each of its regions.
/// </summary>
public sealed class MailboxRedisGroupCommitCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("proxy-redis-group-commit-").FullName;
    private readonly RedisServer _redis = new() { AppendOnly = true };

    public async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        await GroupCommitCrash.WriteConfigAsync(_dir);
    }

    [Fact]
    public async Task Group_commit_N_concurrent_accepts_SIGKILL_right_after_the_answers_every_202d_entry_is_in_redis_after_its_AOF_restart()
    {
        var proxy = ProxyProcess.Start($"ConfigDir={_dir}", $"Mailbox:Redis:ConnectionString={_redis.ConnectionString}", "Mailbox:DrainerEnabled=false");
        await proxy.WaitReadyAsync(body => body.Contains("mailbox store: redis", StringComparison.Ordinal));
        var (answered, sent) = await GroupCommitCrash.SendUntilKilledAsync(proxy);
        await proxy.DisposeAsync();

        // Only what is in the append-only file survives this.
        await _redis.KillAsync();
        await _redis.RestartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        using var store = new RedisMailboxStore(connection, "mb", TimeProvider.System);
        GroupCommitCrash.ShouldHoldEveryAnswered(await GroupCommitCrash.StoredAsync(store), answered, sent, output);
    }

    public async ValueTask DisposeAsync()
    {
        await _redis.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
