namespace Proxy.Routing.Regions;

/// <summary>A region that active organizations live in but no YARP cluster serves (yet).</summary>
internal sealed record RegionWithoutCluster(string Region, IReadOnlyList<long> Organizations);
