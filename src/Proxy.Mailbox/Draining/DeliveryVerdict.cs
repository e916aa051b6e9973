namespace Proxy.Mailbox;

internal enum DeliveryDecision
{
    Delivered,
    Drop,
    Retry,
}

/// <summary>What the drainer does with an attempt's result, and the failure reason it reports.</summary>
internal readonly record struct DeliveryVerdict(DeliveryDecision Decision, string? FailureReason)
{
    public static DeliveryVerdict Of(DeliveryResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result switch
        {
            { Error: DeliveryError.Timeout } => new(DeliveryDecision.Retry, "timeout"),
            { Error: DeliveryError.Connection } => new(DeliveryDecision.Retry, "host_error"),
            { Error: DeliveryError.UnknownRegion } => new(DeliveryDecision.Retry, "unknown_region"),
            { StatusCode: null } or { Error: DeliveryError.Other } => new(DeliveryDecision.Retry, "api_error"),
            { StatusCode: >= 200 and < 400 } => new(DeliveryDecision.Delivered, null),
            { StatusCode: 400 } => new(DeliveryDecision.Drop, "bad_request"),
            { StatusCode: 401 } => new(DeliveryDecision.Drop, "unauthorized"),
            { StatusCode: 403 } => new(DeliveryDecision.Drop, "forbidden"),
            { StatusCode: 404 } => new(DeliveryDecision.Drop, "not_found"),
            { StatusCode: 409 } => new(DeliveryDecision.Drop, "conflict"),
            { StatusCode: >= 500 and < 600 } => new(DeliveryDecision.Retry, "server_error"),
            _ => new(DeliveryDecision.Retry, "api_error"),
        };
    }

    /// <summary>The transport error as stored with a dead letter, when there was no answer.</summary>
    public static string? ErrorName(DeliveryResult result) => result.Error switch
    {
        DeliveryError.None => null,
        DeliveryError.Timeout => "timeout",
        DeliveryError.Connection => "connection",
        DeliveryError.UnknownRegion => "unknown_region",
        _ => "other",
    };
}

/// <summary>Values of the <c>outcome</c> tag of <c>mailbox.deliveries</c> and of dead-letter reasons.</summary>
internal static class DeliveryOutcomes
{
    public const string Ok = "ok";
    public const string Retry = "retry";
    public const string Dropped = "dropped";
    public const string AttemptsExceeded = "attempts_exceeded";
    public const string MaxAge = "max_age";
}

/// <summary>Values of the <c>stage</c> tag of <c>mailbox.lane.errors</c>: where a lane's error happened.</summary>
internal static class LaneStages
{
    public const string Claim = "claim";
    public const string Drain = "drain";
}
