namespace Proxy.Routing.Regions;

/// <summary>An installed integration of <c>directory.json</c> and the organizations that installed it.</summary>
internal sealed record DirectoryIntegration(long Id, string? Provider, string? ExternalId, string? Status, IReadOnlyList<long>? Organizations);
