using Proxy.Routing.Parsers;

namespace Proxy.Routing.Regions;

/// <summary><c>Directory:Source=File</c>: the directory file through <see cref="RegionResolver"/>.</summary>
internal sealed class ResolverRegionDirectory(RegionResolver resolver) : IRegionDirectory
{
    public ValueTask<RegionResolution> ResolveAsync(RoutingTarget target, CancellationToken cancellationToken)
        => resolver.ResolveAsync(target, cancellationToken);
}
