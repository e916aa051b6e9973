using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Proxy.Routing.Forwarding;

/// <summary>
/// Region name -> YARP cluster, read live from YARP's state, so a routes file edit is seen at once. A region is any
/// cluster whose metadata has <c>"Region": "name"</c>; only configured clusters are ever sent to.
/// </summary>
public sealed class RegionClusters(IProxyStateLookup lookup)
{
    public const string RegionMetadataKey = "Region";

    public ClusterState? ForRegion(string region)
    {
        foreach (var cluster in lookup.GetClusters())
        {
            var metadata = cluster.Model.Config.Metadata;
            if (metadata is not null && metadata.TryGetValue(RegionMetadataKey, out var name)
                && string.Equals(name, region, StringComparison.OrdinalIgnoreCase))
            {
                return cluster;
            }
        }

        return null;
    }

    public ClusterState? ById(string clusterId) => lookup.TryGetCluster(clusterId, out var cluster) ? cluster : null;

    /// <summary>Every configured region name, sorted.</summary>
    public IReadOnlyList<string> RegionNames()
        => lookup.GetClusters()
            .Select(c => c.Model.Config.Metadata?.GetValueOrDefault(RegionMetadataKey))
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>One destination of the cluster, among those YARP's health checks consider available.</summary>
    public static DestinationState? PickDestination(ClusterState cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var available = cluster.DestinationsState.AvailableDestinations;
        return available.Count switch
        {
            0 => null,
            1 => available[0],
            _ => available[Random.Shared.Next(available.Count)],
        };
    }
}
