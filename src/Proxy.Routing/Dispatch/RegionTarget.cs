using Yarp.ReverseProxy.Model;

namespace Proxy.Routing.Dispatch;

/// <summary>Where one send goes: a silo's name (a region, or "control"), its YARP cluster and the destination picked in it.</summary>
public sealed record RegionTarget(string Name, ClusterState Cluster, DestinationState Destination)
{
    /// <summary>The cluster's own client: its connection pool, TLS and HTTP/2 settings.</summary>
    public HttpMessageInvoker Invoker => Cluster.Model.HttpClient;
}
