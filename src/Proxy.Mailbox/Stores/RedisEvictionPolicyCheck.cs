using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Mailbox;

/// <summary>
/// Refuses to start the Redis mailbox on a Redis that may evict keys: under any <c>maxmemory-policy</c> but
/// <c>noeviction</c> a full Redis silently deletes stored webhooks (which the store then counts as orphans) instead of
/// refusing new ones with an error the sender retries. <c>Mailbox:Redis:AllowEviction</c> lets it start anyway, with a
/// warning. The policy is read from <c>INFO memory</c> run in a script (so the connection needs no admin mode; managed
/// Redis services that rename <c>CONFIG</c> keep <c>INFO</c>), else from <c>CONFIG GET</c> (only with <c>allowAdmin</c>
/// in the connection string); when neither answers the check logs a warning and lets the mailbox work. When Redis is
/// not reachable at start the host starts, the <see cref="RedisEvictionGate"/> stays closed (accepts get 503, the
/// drainer waits, readiness says why) and the check runs again every <see cref="RetryInterval"/> until it reaches
/// Redis: then the gate opens, or stays closed for good with the policy named (logged as an error) when Redis may evict.
/// </summary>
internal sealed partial class RedisEvictionPolicyCheck(
    IOptions<MailboxOptions> options,
    IServiceProvider services,
    RedisEvictionGate gate,
    ILogger<RedisEvictionPolicyCheck> logger) : IHostedService, IDisposable
{
    public const string NoEviction = "noeviction";

    /// <summary>How often the check is tried again while the mailbox Redis was not reachable.</summary>
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(500);

    private readonly CancellationTokenSource _stopping = new();
    private Task _retry = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (MailboxOptionsValidator.ResolveStore(options.Value) != MailboxStoreKind.Redis)
        {
            return;
        }

        var redis = services.GetRequiredService<MailboxRedisConnection>().Multiplexer;
        var allowEviction = options.Value.Redis.AllowEviction;
        var verdict = await CheckAsync(redis, allowEviction, logger).ConfigureAwait(false);
        if (verdict is Verdict.NotConnected)
        {
            Log.NotConnected(logger);
            _retry = Task.Run(() => RetryUntilReachedAsync(redis, allowEviction, _stopping.Token), CancellationToken.None);
            return;
        }

        if (verdict is Verdict.Refused refused)
        {
            throw new InvalidOperationException(refused.Reason);
        }

        gate.Open();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _retry.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task RetryUntilReachedAsync(IConnectionMultiplexer redis, bool allowEviction, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RetryInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            switch (await CheckAsync(redis, allowEviction, logger).ConfigureAwait(false))
            {
                case Verdict.Refused refused:
                    gate.Refuse(refused.Reason);
                    Log.Refused(logger, refused.Reason);
                    return;
                case Verdict.Allowed:
                    gate.Open();
                    return;
            }
        }
    }

    /// <summary>What <see cref="CheckAsync"/> found.</summary>
    internal abstract record Verdict
    {
        public sealed record NotConnected : Verdict;

        public sealed record Allowed : Verdict;

        public sealed record Refused(string Reason) : Verdict;
    }

    /// <summary>Checks every connected primary: refused when one may evict and eviction is not allowed.</summary>
    internal static async Task<Verdict> CheckAsync(IConnectionMultiplexer redis, bool allowEviction, ILogger logger)
    {
        var primaries = redis.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
        if (primaries.Count == 0)
        {
            return new Verdict.NotConnected();
        }

        foreach (var server in primaries)
        {
            var policy = await ReadPolicyAsync(server).ConfigureAwait(false);
            if (policy is null)
            {
                Log.PolicyUnknown(logger, $"{server.EndPoint}");
            }
            else if (!string.Equals(policy, NoEviction, StringComparison.OrdinalIgnoreCase))
            {
                if (!allowEviction)
                {
                    return new Verdict.Refused(
                        $"The mailbox Redis {server.EndPoint} runs with maxmemory-policy {policy}, under which a full Redis deletes stored webhooks. " +
                        $"Set maxmemory-policy {NoEviction} there, or Mailbox:Redis:AllowEviction=true to start anyway.");
                }

                Log.EvictionAllowed(logger, $"{server.EndPoint}", policy);
            }
        }

        return new Verdict.Allowed();
    }

    private static async Task<string?> ReadPolicyAsync(IServer server)
    {
        try
        {
            // INFO through a script: the client allows INFO itself only in admin mode, which the mailbox does not need.
            var info = (await server.ExecuteAsync("EVAL", "return redis.call('INFO', 'memory')", 0).ConfigureAwait(false)).ToString();
            foreach (var line in info.Split('\n'))
            {
                if (line.StartsWith("maxmemory_policy:", StringComparison.Ordinal))
                {
                    return line["maxmemory_policy:".Length..].Trim();
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException)
        {
        }

        try
        {
            var config = await server.ConfigGetAsync("maxmemory-policy").ConfigureAwait(false);
            return config.Length > 0 && !string.IsNullOrEmpty(config[0].Value) ? config[0].Value : null;
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException)
        {
            // CONFIG renamed or disabled (managed Redis), or the connection is not in admin mode.
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "The mailbox Redis {Server} runs with maxmemory-policy {Policy}: stored webhooks may be evicted (Mailbox:Redis:AllowEviction is set)")]
        public static partial void EvictionAllowed(ILogger logger, string server, string policy);

        [LoggerMessage(2, LogLevel.Warning, "Could not read the maxmemory-policy of the mailbox Redis {Server} (INFO and CONFIG did not answer); make sure it is noeviction")]
        public static partial void PolicyUnknown(ILogger logger, string server);

        [LoggerMessage(3, LogLevel.Warning, "The mailbox Redis is not reachable at start; the mailbox refuses webhooks until it is and its maxmemory-policy was checked")]
        public static partial void NotConnected(ILogger logger);

        [LoggerMessage(4, LogLevel.Error, "The mailbox refuses webhooks: {Reason}")]
        public static partial void Refused(ILogger logger, string reason);
    }
}
