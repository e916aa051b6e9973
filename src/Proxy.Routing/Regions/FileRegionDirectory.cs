using Proxy.Routing.Parsers;

namespace Proxy.Routing.Regions;

/// <summary>
/// The file source: every answer is ready in the tables of the current directory version, so a lookup is one
/// dictionary read, synchronous and without allocation; nothing is cached in front of it.
/// </summary>
internal sealed class FileRegionDirectory(IIntegrationDirectorySource source) : IRegionDirectory
{
    public ValueTask<RegionResolution> ResolveAsync(RoutingTarget target, CancellationToken cancellationToken)
        => new(source.Current.Resolve(target));
}
