using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Regions;

namespace Proxy.Routing;

/// <summary>Ready when the routes are loaded, the control cluster exists and (file source) the directory is loaded.</summary>
internal sealed class RoutingReadinessCheck(
    RegionClusters clusters,
    IOptionsMonitor<RoutingOptions> options,
    IOptions<DirectoryOptions> directoryOptions,
    IServiceProvider services) : IHealthCheck
{
    public const string ReadyTag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["directory.source"] = directoryOptions.Value.UsesControl ? DirectoryOptions.ControlSource : DirectoryOptions.FileSource,
            ["regions"] = string.Join(',', clusters.RegionNames()),
        };
        if (!directoryOptions.Value.UsesControl)
        {
            var directory = services.GetRequiredService<IIntegrationDirectorySource>().Current;
            data["directory.revision"] = directory.Revision;
            data["directory.integrations"] = directory.IntegrationCount;
        }

        var control = options.CurrentValue.ControlCluster;
        return Task.FromResult(clusters.ById(control) is null
            ? HealthCheckResult.Unhealthy($"the control cluster '{control}' is not configured", data: data)
            : HealthCheckResult.Healthy(data: data));
    }
}
