using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Proxy.Billing.Counting;
using Proxy.Billing.Flags;
using Proxy.Billing.Processing;
using Proxy.Billing.Telemetry;
using Proxy.Billing.Transport;
using Proxy.Redis;

namespace Proxy.Billing;

public static class BillingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the billing consumer (hosted service, transport, telemetry) from the <c>Billing</c> section.
    /// Registers nothing when <c>Billing:Enabled</c> is not true. To keep project flags elsewhere than Redis,
    /// register an <see cref="IProjectFlagsStore"/> first. Export its metrics with <c>AddMeter(BillingMetrics.MeterName)</c>.
    /// </summary>
    public static IServiceCollection AddBillingConsumer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var section = configuration.GetSection(BillingOptions.SectionName);
        if (!section.GetValue<bool>(nameof(BillingOptions.Enabled)))
        {
            return services;
        }

        services.AddOptions<BillingOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BillingOptions>, BillingOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<BillingMetrics>();
        services.TryAddSingleton<RedisConnections>();
        services.TryAddSingleton<BillingRedisConnection>();
        if (section.GetValue<ProjectFlagsStoreKind>("Flags:Store") == ProjectFlagsStoreKind.Http)
        {
            services.AddHttpClient(HttpProjectFlagsStore.ClientName, (provider, client) =>
            {
                var flags = provider.GetRequiredService<IOptions<BillingOptions>>().Value.Flags;
                var address = flags.HttpBaseAddress;
                client.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
                client.Timeout = flags.HttpTimeout;
            });
            services.TryAddSingleton<IProjectFlagsStore, HttpProjectFlagsStore>();
        }
        else
        {
            services.TryAddSingleton<IProjectFlagsStore, RedisProjectFlagsStore>();
        }

        services.TryAddSingleton<ProjectFlagsCache>();
        services.TryAddSingleton<OutcomeWriter>();
        services.TryAddSingleton<CustomMetricFlagger>();
        services.TryAddSingleton<BatchProcessor>();
        services.TryAddSingleton<IBillingTransport>(provider =>
            provider.GetRequiredService<IOptions<BillingOptions>>().Value.Transport == BillingTransportKind.Kafka
                ? ActivatorUtilities.CreateInstance<KafkaTransport>(provider)
                : ActivatorUtilities.CreateInstance<RedisStreamsTransport>(provider));
        services.AddHostedService<BillingConsumerService>();
        // In the host's /readyz, but Degraded rather than Unhealthy when billing cannot consume: webhooks do not
        // depend on it, so a billing outage must not take the proxy out of rotation. /readyz/billing fails on it.
        services.AddHealthChecks().AddCheck<BillingReadinessCheck>(BillingReadinessCheck.Name, failureStatus: HealthStatus.Degraded,
            tags: [BillingReadinessCheck.ReadyTag, BillingReadinessCheck.Tag]);
        return services;
    }
}
