using System.ComponentModel;

namespace Proxy.Routing.Regions;

/// <summary>The regions behind a routing target, sorted by name; the first one is "the first region".</summary>
/// <remarks>Immutable: HybridCache hands the cached instance out as is instead of deserializing a copy per hit.</remarks>
[ImmutableObject(true)]
public sealed record RegionResolution(ResolutionKind Kind, IReadOnlyList<string> Regions, long? IntegrationId)
{
    public static RegionResolution Unknown { get; } = new(ResolutionKind.UnknownTarget, [], null);
}
