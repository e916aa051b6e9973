using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Proxy.Routing.Regions.Caching;
using Proxy.Routing.Regions.Invalidation;
using StackExchange.Redis;

namespace Proxy.Routing.Regions;

/// <summary>
/// The directory cache: healthy in memory only, or with a Redis that answers a PING within <c>Redis:OperationTimeout</c>.
/// A Redis that does not answer makes the cache <b>degraded</b>, not the proxy unready: routing goes on from memory and
/// control, and <c>/readyz</c> still answers 200.
/// </summary>
internal sealed class DirectoryCacheReadinessCheck(IOptions<RedisOptions> options, IServiceProvider services) : IHealthCheck
{
    public const string Name = "directory-cache";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return HealthCheckResult.Healthy("memory only");
        }

        var breaker = services.GetRequiredService<RedisBreaker>();
        var subscriber = services.GetRequiredService<DirectoryInvalidationSubscriber>();
        var invalidator = services.GetRequiredService<DirectoryInvalidator>();
        var data = new Dictionary<string, object>
        {
            ["invalidation.subscribed"] = subscriber.IsSubscribed,
            ["invalidation.received"] = invalidator.Received,
        };
        if (breaker.OpenUntil is { } until)
        {
            data["redis.skipped_until"] = until.ToString("O", CultureInfo.InvariantCulture);
        }

        try
        {
            var connection = await services.GetRequiredService<SharedRedisConnection>().GetAsync()
                .WaitAsync(settings.OperationTimeout, cancellationToken);
            var latency = await connection.GetDatabase().PingAsync().WaitAsync(settings.OperationTimeout, cancellationToken);
            data["redis.ping_ms"] = latency.TotalMilliseconds;
            return HealthCheckResult.Healthy("memory and Redis", data);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Degraded("Redis does not answer; routing continues from memory and control", ex, data);
        }
    }
}
