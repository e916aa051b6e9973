using System.Text.Json.Serialization;

namespace Proxy.Billing.Messages;

/// <summary>Source-generated (reflection-free) JSON for the consumer's messages.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(MetricBucket))]
[JsonSerializable(typeof(Outcome))]
[JsonSerializable(typeof(FirstCustomMetricReceived))]
[JsonSerializable(typeof(Flags.ProjectFlagsDocument))]
[JsonSerializable(typeof(Flags.AddProjectFlagsRequest))]
public sealed partial class BillingJsonContext : JsonSerializerContext;
