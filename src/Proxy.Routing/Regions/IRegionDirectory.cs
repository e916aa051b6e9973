using Proxy.Routing.Parsers;

namespace Proxy.Routing.Regions;

/// <summary>
/// Target -> active organizations -> regions, sorted by name: the only lookup in the routing path. The file source
/// answers synchronously from tables built at load; the control source asks the control silo (cached).
/// </summary>
public interface IRegionDirectory
{
    /// <summary>
    /// The regions behind <paramref name="target"/>. Throws <see cref="DirectoryUnavailableException"/> when the source
    /// cannot answer now (the control silo is down or slow): the sender gets 503 and retries; nothing is cached.
    /// </summary>
    ValueTask<RegionResolution> ResolveAsync(RoutingTarget target, CancellationToken cancellationToken);
}
