using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Redis;
using Proxy.Routing.Regions.Caching;
using Proxy.Routing.Regions.Control;
using Proxy.Routing.Regions.Invalidation;

namespace Proxy.Routing.Regions;

public static class DirectoryServiceCollectionExtensions
{
    /// <summary>
    /// The region directory (<c>Directory:Source</c>: the file, or the control silo's API), its HybridCache (memory, and
    /// Redis as the shared second level when <c>Redis:ConnectionString</c> is set, every call bounded and skipped for a
    /// while after a failure), the invalidation channel and the cache's readiness.
    /// </summary>
    public static IServiceCollection AddRegionDirectory(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DirectoryOptions>().Bind(configuration.GetSection(DirectoryOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DirectoryOptions>, DirectoryOptionsValidator>();
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton<FileRegionDirectory>();
        services.TryAddSingleton<ControlRegionDirectory>();
        services.TryAddSingleton<IRegionDirectory>(sp => sp.GetRequiredService<IOptions<DirectoryOptions>>().Value.UsesControl
            ? sp.GetRequiredService<ControlRegionDirectory>()
            : sp.GetRequiredService<FileRegionDirectory>());

        services.AddHybridCache();
        services.TryAddSingleton(sp => new DirectoryInvalidator(
            sp.GetRequiredService<Microsoft.Extensions.Caching.Hybrid.HybridCache>(),
            sp.GetRequiredService<IOptions<RedisOptions>>(),
            sp.GetService<SharedRedisConnection>(),
            sp.GetService<RedisBreaker>(),
            sp.GetRequiredService<ILogger<DirectoryInvalidator>>()));

        if (!string.IsNullOrWhiteSpace(configuration[$"{RedisOptions.Section}:{nameof(RedisOptions.ConnectionString)}"]))
        {
            services.TryAddSingleton<RedisConnections>();
            services.TryAddSingleton<SharedRedisConnection>();
            services.TryAddSingleton<RedisBreaker>();
            services.AddSingleton<IConfigureOptions<RedisCacheOptions>>(sp => new ConfigureOptions<RedisCacheOptions>(o =>
            {
                o.InstanceName = "edge-proxy:";
                o.ConnectionMultiplexerFactory = () => sp.GetRequiredService<SharedRedisConnection>().GetAsync();
            }));
            // The one second level HybridCache sees: Redis behind timeouts and the breaker.
            services.AddSingleton<IDistributedCache>(sp => new GuardedDistributedCache(
                new RedisCache(sp.GetRequiredService<IOptions<RedisCacheOptions>>()), sp.GetRequiredService<RedisBreaker>()));
            services.TryAddSingleton<DirectoryInvalidationSubscriber>();
            services.AddHostedService(sp => sp.GetRequiredService<DirectoryInvalidationSubscriber>());
        }

        services.AddHealthChecks().AddCheck<DirectoryCacheReadinessCheck>(DirectoryCacheReadinessCheck.Name,
            failureStatus: HealthStatus.Degraded, tags: [RoutingReadinessCheck.ReadyTag]);
        return services;
    }
}
