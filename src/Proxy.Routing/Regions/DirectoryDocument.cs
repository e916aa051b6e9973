namespace Proxy.Routing.Regions;

/// <summary>The content of <c>directory.json</c> as written, before validation; a null entry is kept to be named.</summary>
internal sealed record DirectoryDocument(IReadOnlyList<DirectoryOrganization?> Organizations, IReadOnlyList<DirectoryIntegration?> Integrations)
{
    /// <summary>Where each organization starts (<c>directory.json line 3, column 5</c>), by index; empty when not read from a file.</summary>
    public IReadOnlyList<string> OrganizationPlaces { get; init; } = [];

    /// <summary>Where each integration starts, by index.</summary>
    public IReadOnlyList<string> IntegrationPlaces { get; init; } = [];
}
