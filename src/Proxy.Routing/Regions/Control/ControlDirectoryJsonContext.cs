using System.Text.Json.Serialization;

namespace Proxy.Routing.Regions.Control;

/// <summary>The directory API's bodies: camelCase, unknown fields ignored so control may add some.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(ControlIntegrationAnswer))]
[JsonSerializable(typeof(ControlOrganizationAnswer))]
internal sealed partial class ControlDirectoryJsonContext : JsonSerializerContext;
