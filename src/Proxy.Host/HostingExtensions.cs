namespace Proxy.Host;

internal static class HostingExtensions
{
    /// <summary>appsettings.json at the repository root (or beside the binary), then environment and command line.</summary>
    public static IConfigurationBuilder AddProxySettings(this IConfigurationManager configuration, string[] args)
    {
        return configuration;
    }

    public static IServiceCollection AddProxyTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        return services;
    }
}
