namespace Proxy.Routing.Regions;

/// <summary>The content of <c>directory.json</c> as written, before validation; a null entry is kept to be named.</summary>
internal sealed record DirectoryDocument(IReadOnlyList<DirectoryOrganization?> Organizations, IReadOnlyList<DirectoryIntegration?> Integrations);
