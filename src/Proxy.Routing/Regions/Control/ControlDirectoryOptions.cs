namespace Proxy.Routing.Regions.Control;

/// <summary>The control silo's directory API, section <c>Directory:Control</c> (see docs/DIRECTORY.md).</summary>
public sealed class ControlDirectoryOptions
{
    private const string Base = "/api/0/internal/integration-directory";

    /// <summary>An integration by the provider's id for it; <c>{externalId}</c> is URL-escaped.</summary>
    public string IntegrationPath { get; set; } = Base + "/integrations/{provider}/{externalId}";

    public string IntegrationByIdPath { get; set; } = Base + "/integrations/by-id/{integrationId}";

    public string OrganizationPath { get; set; } = Base + "/organizations/{organizationId}";

    /// <summary>How long one call to control may take; past it the sender gets 503 and nothing is cached.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an answer of control (200) is cached.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long "unknown" (404) is cached: a flood of unknown ids must not reach control, a new install must show soon.</summary>
    public TimeSpan NegativeCacheTtl { get; set; } = TimeSpan.FromSeconds(30);
}
