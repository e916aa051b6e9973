using System.Text.Json.Serialization;

namespace Proxy.Routing.Regions.Control;

/// <summary>An integration and the organizations that installed it, as the control silo's directory API describes it.</summary>
internal sealed record ControlIntegrationAnswer(long IntegrationId, string? Status, IReadOnlyList<ControlOrganizationAnswer>? Organizations)
{
    [JsonIgnore]
    public bool IsActive => string.Equals(Status, "active", StringComparison.OrdinalIgnoreCase);
}
