namespace Proxy.Routing.Regions.Invalidation;

/// <summary>What an operator asks to drop from the directory cache: one integration or one organization.</summary>
public abstract record DirectoryInvalidation
{
    public sealed record ExternalIntegration(string Provider, string ExternalId) : DirectoryInvalidation;

    public sealed record IntegrationId(long Id) : DirectoryInvalidation;

    public sealed record Organization(long Id) : DirectoryInvalidation;
}
