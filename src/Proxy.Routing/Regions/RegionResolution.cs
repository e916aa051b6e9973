using System.ComponentModel;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Regions;

/// <summary>The regions behind a routing target, sorted by name; the first one is "the first region".</summary>
/// <remarks>Immutable: HybridCache hands the cached instance out as is instead of deserializing a copy per hit.</remarks>
[ImmutableObject(true)]
public sealed record RegionResolution(ResolutionKind Kind, IReadOnlyList<string> Regions, long? IntegrationId)
{
    public static RegionResolution Unknown { get; } = new(ResolutionKind.UnknownTarget, [], null);

    /// <summary>The active organizations behind the target and their regions (what a webhook naming one is narrowed by).</summary>
    public IReadOnlyList<OrganizationRegion> Organizations { get; init; } = [];

    /// <summary>
    /// Only the region of <paramref name="organization"/> when it is one of <see cref="Organizations"/> (by id, or by
    /// slug case-insensitively); otherwise this resolution unchanged.
    /// </summary>
    public RegionResolution NarrowTo(TargetOrganization? organization)
    {
        if (organization is null || Kind != ResolutionKind.Found)
        {
            return this;
        }

        foreach (var candidate in Organizations)
        {
            if (organization.Id is { } id ? candidate.Id == id
                : organization.Slug is { } slug && string.Equals(candidate.Slug, slug, StringComparison.OrdinalIgnoreCase))
            {
                return this with { Regions = [candidate.Region], Organizations = [candidate] };
            }
        }

        return this;
    }
}

/// <summary>An active organization of a resolution and the region it lives in.</summary>
public sealed record OrganizationRegion(long Id, string? Slug, string Region);
