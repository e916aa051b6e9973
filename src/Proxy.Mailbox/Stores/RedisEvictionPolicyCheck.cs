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
/// in the connection string); when neither answers, or Redis is not reachable at start, the
/// check logs a warning and lets the host start.
/// </summary>
internal sealed partial class RedisEvictionPolicyCheck(
    IOptions<MailboxOptions> options,
    IServiceProvider services,
    ILogger<RedisEvictionPolicyCheck> logger) : IHostedService
{
    public const string NoEviction = "noeviction";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (MailboxOptionsValidator.ResolveStore(options.Value) != MailboxStoreKind.Redis)
        {
            return Task.CompletedTask;
        }

        var redis = services.GetRequiredService<MailboxRedisConnection>().Multiplexer;
        return CheckAsync(redis, options.Value.Redis.AllowEviction, logger);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Checks every connected primary; throws when one may evict and eviction is not allowed.</summary>
    internal static async Task CheckAsync(IConnectionMultiplexer redis, bool allowEviction, ILogger logger)
    {
        var primaries = redis.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
        if (primaries.Count == 0)
        {
            Log.NotConnected(logger);
            return;
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
                    throw new InvalidOperationException(
                        $"The mailbox Redis {server.EndPoint} runs with maxmemory-policy {policy}, under which a full Redis deletes stored webhooks. " +
                        $"Set maxmemory-policy {NoEviction} there, or Mailbox:Redis:AllowEviction=true to start anyway.");
                }

                Log.EvictionAllowed(logger, $"{server.EndPoint}", policy);
            }
        }
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

        [LoggerMessage(3, LogLevel.Warning, "The mailbox Redis is not reachable at start; its maxmemory-policy was not checked (it must be noeviction)")]
        public static partial void NotConnected(ILogger logger);
    }
}
