using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Mailbox;

/// <summary>
/// Ready when the mailbox can take webhooks: with the Redis store, its Redis answers a PING (otherwise every accept
/// would get 503), and its eviction policy was checked and is safe (<see cref="RedisEvictionGate"/>). The SQLite store
/// is a local file, opened at start.
/// </summary>
internal sealed class MailboxReadinessCheck(IOptions<MailboxOptions> options, IServiceProvider services, RedisEvictionGate evictionGate) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (MailboxOptionsValidator.ResolveStore(options.Value) != MailboxStoreKind.Redis)
        {
            return HealthCheckResult.Healthy("mailbox store: sqlite");
        }

        var connection = (MailboxRedisConnection)services.GetService(typeof(MailboxRedisConnection))!;
        try
        {
            var latency = await connection.Multiplexer.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken)
                .ConfigureAwait(false);
            if (evictionGate.Reason is { } reason)
            {
                return HealthCheckResult.Unhealthy(reason);
            }

            return HealthCheckResult.Healthy("mailbox store: redis", new Dictionary<string, object> { ["redis.ping_ms"] = latency.TotalMilliseconds });
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("the mailbox Redis does not answer", ex);
        }
    }
}
