using System.Text.Json.Serialization;

namespace Proxy.Routing.Regions.Invalidation;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(InvalidationMessage))]
internal sealed partial class InvalidationJsonContext : JsonSerializerContext;
