namespace Proxy.Routing.Parsers;

/// <summary>What a parser decided about a webhook. Parsers return one of these and never do I/O.</summary>
public abstract record RoutingIntent(string Reason)
{
    /// <summary>Forward to the control silo and stream its answer back.</summary>
    public sealed record Control(string Reason) : RoutingIntent(Reason);

    /// <summary>Refuse the webhook with a problem+json answer.</summary>
    public sealed record Reject(int Status, string ProblemType, string Detail) : RoutingIntent(Detail)
    {
        /// <summary>For a 405: the methods the endpoint takes, sent as <c>Allow</c>.</summary>
        public string? Allow { get; init; }
    }

    /// <summary>Answer at the edge with a fixed response (for example 202 for an event no region processes).</summary>
    public sealed record Respond(int Status, string Reason) : RoutingIntent(Reason);

    /// <summary>Send to the regions of the organizations behind <paramref name="Target"/>.</summary>
    public sealed record ToRegions(RoutingTarget Target, RegionDelivery Delivery, string Reason) : RoutingIntent(Reason)
    {
        /// <summary>
        /// The methods the provider sends to this endpoint (comma-separated, as in <c>Allow</c>). Anything else is
        /// answered 405 and never stored or forwarded; only control takes every method.
        /// </summary>
        public string Methods { get; init; } = "POST";

        /// <summary>Status when the target is not in the directory.</summary>
        public int UnknownTargetStatus { get; init; } = 400;

        /// <summary>Status when the target exists but no active organization (so no region) is behind it.</summary>
        public int NoRegionStatus { get; init; } = 400;

        /// <summary>
        /// Mailbox delivery: appended to the mailbox identifier (the integration or organization id), e.g.
        /// <c>45:push</c> gives <c>github:10:45:push</c>.
        /// </summary>
        public string? MailboxSuffix { get; init; }

        /// <summary>Mailbox delivery: the id that picks a bucket while a busy integration is bucketed (§2.10).</summary>
        public long? MailboxBucketId { get; init; }

        /// <summary>
        /// One organization of the target the webhook is meant for (a Slack command naming an organization slug, an
        /// action whose id encodes an organization id): only that organization's region gets it. One that is not among
        /// the target's active organizations is ignored and every organization stays in scope, as in the reference.
        /// </summary>
        public TargetOrganization? Organization { get; init; }

        /// <summary>
        /// Mailbox delivery of an organization target: the directory integration id the URL names (Gitea), which names
        /// the mailbox instead of the organization. It must be an integration the directory knows, else control answers.
        /// </summary>
        public long? MailboxIntegrationId { get; init; }

        /// <summary>
        /// The integration may live in one region only (Jira): one with organizations in several regions is a
        /// configuration error, logged and counted, and control answers instead of any region.
        /// </summary>
        public bool OneRegionOnly { get; init; }

        /// <summary>
        /// First-region delivery: when the region gives no answer (connection failure, timeout, no cluster), control
        /// answers instead (the reference's <c>ApiError</c> fallback of the Jira issue panel).
        /// </summary>
        public bool ControlOnRegionFailure { get; init; }

        /// <summary>
        /// A target the directory does not know, or one without an active organization, is answered by control instead
        /// of <see cref="UnknownTargetStatus"/> / <see cref="NoRegionStatus"/> (organizations named in a URL).
        /// </summary>
        public bool ControlWhenUnplaced { get; init; }

        /// <summary>
        /// The sender's id for this delivery when the body carries it (Slack <c>event_id</c>, Discord and Teams
        /// <c>id</c>); header ids are read by the duplicate check itself.
        /// </summary>
        public string? DeliveryId { get; init; }

        /// <summary>
        /// Where the sender accepts a late answer (Slack's <c>response_url</c>). When it is allowed, the sender is
        /// answered at once and the region's answer is posted there.
        /// </summary>
        public string? ResponseUrl
        {
            get => _responseUrl ?? (_formEncodedResponseUrl.IsEmpty ? null
                : _responseUrl = NonBlank(FormFields.Decode(_formEncodedResponseUrl.Span)));
            init => _responseUrl = NonBlank(value);
        }

        /// <summary>
        /// The response URL as a form body carries it, still encoded: decoded on first read, so a webhook that is not
        /// answered late never pays for it.
        /// </summary>
        internal ReadOnlyMemory<byte> FormEncodedResponseUrl
        {
            init => _formEncodedResponseUrl = value;
        }

        private string? _responseUrl;
        private ReadOnlyMemory<byte> _formEncodedResponseUrl;

        private static string? NonBlank(string? url) => string.IsNullOrWhiteSpace(url) ? null : url;
    }
}

/// <summary>Who a webhook belongs to: an installed integration, or an organization named in the URL.</summary>
public abstract record RoutingTarget
{
    /// <summary>An integration known by the provider's own id for it (Slack team id, GitHub installation id...).</summary>
    public sealed record ExternalIntegration(string Provider, string ExternalId) : RoutingTarget
    {
        public override string ToString() => $"integration:{Provider}:{ExternalId}";
    }

    /// <summary>An integration known by our own directory id (signed link URLs carry it).</summary>
    public sealed record IntegrationId(long Id) : RoutingTarget
    {
        public override string ToString() => $"integration-id:{Id}";
    }

    /// <summary>An organization named directly (Bitbucket and legacy plugins put it in the path).</summary>
    public sealed record Organization(long Id) : RoutingTarget
    {
        public override string ToString() => $"organization:{Id}";
    }
}

/// <summary>An organization a webhook names, by slug or by id.</summary>
public sealed record TargetOrganization(long? Id, string? Slug)
{
    public static TargetOrganization BySlug(string slug) => new(null, slug);

    public static TargetOrganization ById(long id) => new(id, null);

    public override string ToString() => Id is { } id ? $"organization:{id}" : $"organization-slug:{Slug}";
}

/// <summary>How a webhook reaches its regions.</summary>
public enum RegionDelivery
{
    /// <summary>The alphabetically first region answers.</summary>
    FirstRegion,

    /// <summary>Every region gets it in parallel; the first answer to complete is returned.</summary>
    AllRegions,

    /// <summary>Stored durably, one entry per region, answered 202; delivered later in order with retries.</summary>
    Mailbox,
}
