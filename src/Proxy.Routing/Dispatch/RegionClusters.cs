using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Region name -> YARP cluster, rebuilt whenever YARP applies a new configuration, so a routes file edit is seen at
/// once. A region is any cluster whose metadata has <c>"Region": "name"</c>; only configured clusters are ever sent to.
/// </summary>
public sealed class RegionClusters(IServiceProvider services) : IConfigChangeListener
{
    public const string RegionMetadataKey = "Region";

    // Resolved late: YARP's state lookup itself depends on the config change listeners, this class among them.
    private IProxyStateLookup? _lookup;

    private Dictionary<string, ClusterState>? _byRegion;

    /// <summary>Raised after YARP applied a configuration; the region map already reflects it.</summary>
    public event Action? Applied;

    public ClusterState? ForRegion(string region) => Map().GetValueOrDefault(region);

    public ClusterState? ById(string clusterId) => Lookup.TryGetCluster(clusterId, out var cluster) ? cluster : null;

    private IProxyStateLookup Lookup => _lookup ??= services.GetRequiredService<IProxyStateLookup>();

    /// <summary>Every configured region name, sorted.</summary>
    public IReadOnlyList<string> RegionNames() => Map().Keys.Order(StringComparer.Ordinal).ToArray();

    private Dictionary<string, ClusterState> Map()
    {
        var map = Volatile.Read(ref _byRegion);
        if (map is not null)
        {
            return map;
        }

        map = new Dictionary<string, ClusterState>(StringComparer.OrdinalIgnoreCase);
        foreach (var cluster in Lookup.GetClusters())
        {
            if (cluster.Model.Config.Metadata?.GetValueOrDefault(RegionMetadataKey) is { Length: > 0 } name)
            {
                map[name] = cluster;
            }
        }

        Volatile.Write(ref _byRegion, map);
        return map;
    }

    private void Invalidate() => Volatile.Write(ref _byRegion, null);

    void IConfigChangeListener.ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
        Invalidate();
        Applied?.Invoke();
    }

    void IConfigChangeListener.ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception)
    {
    }

    void IConfigChangeListener.ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    void IConfigChangeListener.ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception)
    {
    }
}
