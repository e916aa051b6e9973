using System.Diagnostics;

namespace Proxy.Mailbox;

/// <summary>
/// One accepted webhook waiting for delivery to one region. A webhook sent to three regions is three entries
/// with the same mailbox name and body, each with its own delivery id.
/// </summary>
internal sealed record MailboxEntry
{
    /// <summary>A GUID string, unique per (webhook, region); sent as <c>X-Proxy-Delivery-Id</c> so a region can de-duplicate.</summary>
    public required string DeliveryId { get; init; }

    /// <summary><c>provider:identifier[:bucket]</c>, e.g. <c>github:123</c> or <c>github:123:45</c>.</summary>
    public required string Mailbox { get; init; }

    public required string Region { get; init; }

    public required string Method { get; init; }

    /// <summary>The request path with its query string, exactly as received.</summary>
    public required string PathAndQuery { get; init; }

    /// <summary>Every header line as received, in order; a repeated header appears once per value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>The body bytes exactly as received (regions re-verify provider signatures over them).</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>Sends that got a result so far. The drainer counts an attempt with its result, never before the send.</summary>
    public int Attempts { get; init; }

    /// <summary>Not delivered before this instant. <c>default</c> on append means "due at <see cref="ReceivedAt"/>".</summary>
    public DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>W3C <c>traceparent</c> of the span that accepted the webhook; the delivery span links to it.</summary>
    public string? TraceParent { get; init; }

    public MailboxLane Lane => new(Mailbox, Region);

    /// <summary>
    /// One entry per region for one accepted webhook, each with a fresh delivery id, due at once, and linked to the
    /// current activity (the accepting span) when there is one.
    /// </summary>
    public static IReadOnlyList<MailboxEntry> ForRegions(
        string mailbox,
        IEnumerable<string> regions,
        string method,
        string pathAndQuery,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        ReadOnlyMemory<byte> body,
        DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(regions);
        var traceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;
        return regions.Select(region => new MailboxEntry
        {
            DeliveryId = Guid.NewGuid().ToString(),
            Mailbox = mailbox,
            Region = region,
            Method = method,
            PathAndQuery = pathAndQuery,
            Headers = headers,
            Body = body,
            ReceivedAt = receivedAt,
            NextAttemptAt = receivedAt,
            TraceParent = traceParent,
        }).ToList();
    }
}
