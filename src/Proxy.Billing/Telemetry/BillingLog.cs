using Microsoft.Extensions.Logging;

namespace Proxy.Billing.Telemetry;

internal static partial class BillingLog
{
    [LoggerMessage(1, LogLevel.Information, "Billing consumer started on {System} input {Input}, group {Group}")]
    public static partial void ConsumerStarted(this ILogger logger, string system, string input, string group);

    [LoggerMessage(2, LogLevel.Warning, "Billing consumer failed; retrying in {Delay}")]
    public static partial void ConsumerFailed(this ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(3, LogLevel.Warning, "Dead-lettered message {InputId}: {Error}")]
    public static partial void DeadLettered(this ILogger logger, string inputId, string error);

    [LoggerMessage(4, LogLevel.Information, "Billing consumer stopped after draining its batch")]
    public static partial void ConsumerStopped(this ILogger logger);

    [LoggerMessage(5, LogLevel.Information, "First custom metric of project {ProjectId} (organization {OrgId})")]
    public static partial void FirstCustomMetric(this ILogger logger, long orgId, long projectId);

    [LoggerMessage(6, LogLevel.Warning, "Could not record the custom-metric flag of project {ProjectId}; the next custom bucket retries")]
    public static partial void FlagFollowUpFailed(this ILogger logger, Exception exception, long projectId);

    [LoggerMessage(10, LogLevel.Error, "The stored flags of project {ProjectId} cannot be read; its custom-metric flag is skipped")]
    public static partial void FlagUnreadable(this ILogger logger, Exception exception, long projectId);

    [LoggerMessage(7, LogLevel.Debug, "Batch of {Count} messages: {Committed} committed, {Skipped} already committed elsewhere")]
    public static partial void BatchCommitted(this ILogger logger, int count, int committed, int skipped);

    [LoggerMessage(8, LogLevel.Warning, "Kafka transaction aborted: {Reason}")]
    public static partial void TransactionAborted(this ILogger logger, string reason);

    [LoggerMessage(9, LogLevel.Error, "Kafka client error: {Reason}")]
    public static partial void KafkaError(this ILogger logger, string reason);

    [LoggerMessage(11, LogLevel.Information, "Kafka partitions assigned: {Partitions}")]
    public static partial void PartitionsAssigned(this ILogger logger, string partitions);

    [LoggerMessage(12, LogLevel.Information, "Kafka partitions revoked: {Partitions}; {Discarded} uncommitted messages of them discarded")]
    public static partial void PartitionsRevoked(this ILogger logger, string partitions, int discarded);

    [LoggerMessage(13, LogLevel.Warning, "Kafka partitions lost: {Partitions}; {Discarded} uncommitted messages of them discarded")]
    public static partial void PartitionsLost(this ILogger logger, string partitions, int discarded);
}
