namespace Proxy.Mailbox;

/// <summary>Sends one entry to its region. Never throws for a failed delivery: the result says what happened.</summary>
internal interface IMailboxDelivery
{
    /// <param name="entry">The entry, with <see cref="MailboxEntry.Attempts"/> already counting this attempt.</param>
    Task<DeliveryResult> DeliverAsync(MailboxEntry entry, CancellationToken cancellationToken);
}

/// <summary>Wakes the drainer so that a fresh entry goes out at once instead of at the next poll.</summary>
internal interface IMailboxSignal
{
    void Notify(string mailbox);
}

internal enum DeliveryError
{
    /// <summary>The region answered; see <see cref="DeliveryResult.StatusCode"/>.</summary>
    None,

    /// <summary>No answer within the delivery timeout.</summary>
    Timeout,

    /// <summary>Could not connect, or the connection broke (refused, reset, DNS, TLS).</summary>
    Connection,

    /// <summary>The region has no cluster, or none of its destinations is available.</summary>
    UnknownRegion,

    /// <summary>Anything else that kept the request from completing.</summary>
    Other,
}

/// <summary>What one delivery attempt got back.</summary>
/// <param name="StatusCode">The region's HTTP status; null when it did not answer.</param>
/// <param name="RetryAfter">The region's <c>Retry-After</c>, as a delay from the moment it answered.</param>
internal sealed record DeliveryResult(int? StatusCode, DeliveryError Error, TimeSpan? RetryAfter = null)
{
    public static DeliveryResult Answered(int statusCode, TimeSpan? retryAfter = null) => new(statusCode, DeliveryError.None, retryAfter);

    public static DeliveryResult Failed(DeliveryError error) => new(null, error);
}

/// <summary>Headers the mailbox adds to every delivery.</summary>
public static class MailboxHeaders
{
    /// <summary>The entry's delivery id (a GUID), the same on every attempt: regions de-duplicate on it.</summary>
    public const string DeliveryId = "X-Proxy-Delivery-Id";

    /// <summary>1 on the first attempt, 2 on the first retry, ...</summary>
    public const string DeliveryAttempt = "X-Proxy-Delivery-Attempt";
}
