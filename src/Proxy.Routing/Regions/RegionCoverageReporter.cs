using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Proxy.Routing.Dispatch;

namespace Proxy.Routing.Regions;

/// <summary>
/// Warns about regions that organizations live in but no cluster serves: at start, when the directory reloads and when
/// YARP applies new routes. Only a warning: the cluster may arrive with the next routes edit, and until then webhooks
/// for those organizations fail with <c>region-not-configured</c>.
/// </summary>
internal sealed partial class RegionCoverageReporter(
    IIntegrationDirectorySource directory,
    RegionClusters clusters,
    ILogger<RegionCoverageReporter> logger) : IHostedService
{
    /// <summary>Organization ids named per region in one log line; the rest are counted.</summary>
    internal const int NamedOrganizations = 20;

    private readonly Lock _gate = new();
    private string? _checked;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        clusters.Applied += Check;
        if (directory is DirectoryFileSource file)
        {
            file.Reloaded += OnReloaded;
        }

        Check();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        clusters.Applied -= Check;
        if (directory is DirectoryFileSource file)
        {
            file.Reloaded -= OnReloaded;
        }

        return Task.CompletedTask;
    }

    private void OnReloaded(IntegrationDirectory reloaded) => Check();

    private void Check()
    {
        var current = directory.Current;
        var regions = clusters.RegionNames();
        // A routes edit that leaves the regions as they were, or a second trigger for the same pair, says nothing new.
        var checkedPair = $"{current.Revision}|{string.Join(',', regions)}";
        lock (_gate)
        {
            if (checkedPair == _checked)
            {
                return;
            }

            _checked = checkedPair;
        }

        Report(logger, current, regions);
    }

    /// <summary>Logs one warning per region of <paramref name="current"/> that <paramref name="regions"/> lacks.</summary>
    internal static void Report(ILogger logger, IntegrationDirectory current, IReadOnlyList<string> regions)
    {
        foreach (var finding in current.RegionsWithoutCluster(regions))
        {
            var named = string.Join(", ", finding.Organizations.Take(NamedOrganizations));
            var more = finding.Organizations.Count > NamedOrganizations ? $" and {finding.Organizations.Count - NamedOrganizations} more" : "";
            LogRegionWithoutCluster(logger, finding.Region, finding.Organizations.Count, named + more);
        }
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning,
        Message = "Region {Region} of the directory has no cluster: webhooks for its {OrganizationCount} active organization(s) ({Organizations}) fail until a cluster with that Region in its Metadata is added to the routes")]
    private static partial void LogRegionWithoutCluster(ILogger logger, string region, int organizationCount, string organizations);
}
