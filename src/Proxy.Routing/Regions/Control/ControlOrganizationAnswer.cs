using System.Text.Json.Serialization;

namespace Proxy.Routing.Regions.Control;

/// <summary>An organization as the control silo's directory API describes it.</summary>
internal sealed record ControlOrganizationAnswer(long Id, string? Slug, string? Region, string? Status)
{
    [JsonIgnore]
    public bool IsActive => string.Equals(Status, "active", StringComparison.OrdinalIgnoreCase);
}
