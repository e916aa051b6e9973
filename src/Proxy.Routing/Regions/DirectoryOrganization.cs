namespace Proxy.Routing.Regions;

/// <summary>An organization of <c>directory.json</c> and the region that holds its data.</summary>
internal sealed record DirectoryOrganization(long Id, string? Slug, string? Region, string? Status);
