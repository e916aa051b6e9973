using System.Text.Json.Serialization;

namespace Proxy.Billing.Messages;

/// <summary>The outcome enum of the outcomes topic; its integer is what goes on the wire.</summary>
public enum OutcomeKind
{
    Accepted = 0,
    Filtered = 1,
    RateLimited = 2,
    Invalid = 3,
    Abuse = 4,
    ClientDiscard = 5,
    CardinalityLimited = 6,
}

/// <summary>Relay's data categories (the ones this consumer can emit, plus their neighbours for completeness).</summary>
public enum DataCategory
{
    Default = 0,
    Error = 1,
    Transaction = 2,
    Security = 3,
    Attachment = 4,
    Session = 5,
    Profile = 6,
    Replay = 7,
    TransactionProcessed = 8,
    TransactionIndexed = 9,
    Monitor = 10,
    ProfileIndexed = 11,
    Span = 12,
    MonitorSeat = 13,
    UserReportV2 = 14,
    MetricBucket = 15,
    SpanIndexed = 16,
    ProfileDuration = 17,
}

/// <summary>One outcome message: nine fields, always written, in this order.</summary>
public sealed record Outcome(
    [property: JsonPropertyName("timestamp"), JsonPropertyOrder(0), JsonConverter(typeof(OutcomeTimestampConverter))]
    DateTimeOffset Timestamp,
    [property: JsonPropertyName("org_id"), JsonPropertyOrder(1)] long? OrgId,
    [property: JsonPropertyName("project_id"), JsonPropertyOrder(2)] long? ProjectId,
    [property: JsonPropertyName("key_id"), JsonPropertyOrder(3)] long? KeyId,
    [property: JsonPropertyName("outcome"), JsonPropertyOrder(4)] OutcomeKind Kind,
    [property: JsonPropertyName("reason"), JsonPropertyOrder(5)] string? Reason,
    [property: JsonPropertyName("event_id"), JsonPropertyOrder(6)] string? EventId,
    [property: JsonPropertyName("category"), JsonPropertyOrder(7)] DataCategory? Category,
    [property: JsonPropertyName("quantity"), JsonPropertyOrder(8)] long? Quantity)
{
    /// <summary>Billing outcomes (ACCEPTED, RATE_LIMITED) go to the billing outcomes topic, the rest to outcomes.</summary>
    public static bool IsBilling(OutcomeKind kind) => kind is OutcomeKind.Accepted or OutcomeKind.RateLimited;

    /// <summary>The lowercase name the reference uses in metric tags (<c>api_name()</c>).</summary>
    public static string ApiName(DataCategory? category) => category switch
    {
        null => "null",
        DataCategory.Default => "default",
        DataCategory.Error => "error",
        DataCategory.Transaction => "transaction",
        DataCategory.Security => "security",
        DataCategory.Attachment => "attachment",
        DataCategory.Session => "session",
        DataCategory.Profile => "profile",
        DataCategory.Replay => "replay",
        DataCategory.TransactionProcessed => "transaction_processed",
        DataCategory.TransactionIndexed => "transaction_indexed",
        DataCategory.Monitor => "monitor",
        DataCategory.ProfileIndexed => "profile_indexed",
        DataCategory.Span => "span",
        DataCategory.MonitorSeat => "monitor_seat",
        DataCategory.UserReportV2 => "feedback",
        DataCategory.MetricBucket => "metric_bucket",
        DataCategory.SpanIndexed => "span_indexed",
        DataCategory.ProfileDuration => "profile_duration",
        _ => "unknown",
    };

    /// <summary>The lowercase outcome name (<c>Outcome.api_name()</c>).</summary>
    public static string ApiName(OutcomeKind kind) => kind switch
    {
        OutcomeKind.Accepted => "accepted",
        OutcomeKind.Filtered => "filtered",
        OutcomeKind.RateLimited => "rate_limited",
        OutcomeKind.Invalid => "invalid",
        OutcomeKind.Abuse => "abuse",
        OutcomeKind.ClientDiscard => "client_discard",
        OutcomeKind.CardinalityLimited => "cardinality_limited",
        _ => "unknown",
    };
}

/// <summary>The first-custom-metric event, published once per project.</summary>
public sealed record FirstCustomMetricReceived(
    [property: JsonPropertyName("org_id"), JsonPropertyOrder(0)] long OrgId,
    [property: JsonPropertyName("project_id"), JsonPropertyOrder(1)] long ProjectId,
    [property: JsonPropertyName("timestamp"), JsonPropertyOrder(2), JsonConverter(typeof(OutcomeTimestampConverter))]
    DateTimeOffset Timestamp)
{
    /// <summary>The event name, carried beside the payload (stream field or Kafka header <c>type</c>).</summary>
    public const string EventType = "first_custom_metric_received";
}
