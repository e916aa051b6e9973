namespace Proxy.Routing.Telemetry;

/// <summary>
/// The one set of attribute names that every meter and span of the proxy uses (routing, mailbox, deferred answers).
/// OpenTelemetry semantic conventions where one exists (<c>error.type</c>, <c>http.response.status_code</c>,
/// <c>server.*</c>, <c>messaging.*</c> for the mailbox); the <c>proxy.</c> namespace for the rest, beside YARP's own
/// <c>proxy.route_id</c>, <c>proxy.cluster_id</c> and <c>proxy.destination_id</c>. docs/operations.md lists them.
/// </summary>
public static class TelemetryAttributes
{
    // OpenTelemetry semantic conventions.
    public const string ErrorType = "error.type";
    public const string HttpResponseStatusCode = "http.response.status_code";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string MessagingSystem = "messaging.system";
    public const string MessagingOperationType = "messaging.operation.type";
    public const string MessagingOperationName = "messaging.operation.name";
    public const string MessagingDestinationName = "messaging.destination.name";
    public const string MessagingMessageId = "messaging.message.id";
    public const string MessagingBatchMessageCount = "messaging.batch.message_count";

    /// <summary>The value of <c>messaging.system</c> on mailbox spans.</summary>
    public const string MailboxSystem = "edge_proxy.mailbox";

    /// <summary>YARP's forwarder span names the cluster it forwards to (set again when routing picks a region's cluster).</summary>
    public const string YarpClusterId = "proxy.cluster_id";

    // The proxy's own.

    /// <summary>The webhook's provider as its path names it (<c>slack</c>, <c>github</c>, ... or <c>unknown</c>).</summary>
    public const string Provider = "proxy.provider";

    /// <summary>How a webhook was handled (<see cref="RoutingModes"/>).</summary>
    public const string Mode = "proxy.mode";

    /// <summary>A region's name, or <c>control</c> for the control silo (<c>all</c> when a fan-out failed as a whole).</summary>
    public const string Region = "proxy.region";

    /// <summary>The regions a webhook resolved to, comma separated (span only).</summary>
    public const string Regions = "proxy.regions";

    /// <summary>Why the parser decided as it did (span only).</summary>
    public const string Reason = "proxy.reason";

    /// <summary>The organization or integration the parser found (span only: unbounded).</summary>
    public const string Target = "proxy.target";

    /// <summary>True on the span of a webhook answered as a duplicate.</summary>
    public const string Duplicate = "proxy.duplicate";

    /// <summary>The end of a piece of work whose values the metric's description lists.</summary>
    public const string Outcome = "proxy.outcome";

    /// <summary>Which rate limit refused a request.</summary>
    public const string Limit = "proxy.limit";

    /// <summary>The store of delivery ids that did not answer.</summary>
    public const string DedupStore = "proxy.dedup.store";

    /// <summary>The config file a reload read.</summary>
    public const string ConfigFile = "proxy.config.file";

    /// <summary>Whether a mailbox name carries a bucket.</summary>
    public const string MailboxBucketed = "proxy.mailbox.bucketed";

    /// <summary>Where a lane stopped: claiming it or draining it.</summary>
    public const string MailboxStage = "proxy.mailbox.stage";

    /// <summary>The one organization a webhook names (a Slack command or action): only its region gets it (span only).</summary>
    public const string Organization = "proxy.organization";

    /// <summary>The shed rule that refused a webhook.</summary>
    public const string ShedRule = "proxy.shed.rule";

    /// <summary>The 1-based number of one delivery attempt of a mailbox entry.</summary>
    public const string MailboxAttempt = "proxy.mailbox.attempt";
}
