using System.Diagnostics.CodeAnalysis;

namespace Proxy.Billing.Flags;

/// <summary>A project's flag bits (Sentry's <c>Project.flags</c>); bits are only ever appended.</summary>
[Flags]
[SuppressMessage("Naming", "CA1711", Justification = "The reference's name for this bit field.")]
public enum ProjectFlags : ulong
{
    None = 0,
    HasReleases = 1UL << 0,
    HasIssueAlertsTargeting = 1UL << 1,
    HasTransactions = 1UL << 2,
    HasAlertFilters = 1UL << 3,
    HasSessions = 1UL << 4,
    HasProfiles = 1UL << 5,
    HasReplays = 1UL << 6,
    HasFeedbacks = 1UL << 7,
    HasNewFeedbacks = 1UL << 8,
    SpikeProtectionErrorCurrentlyActive = 1UL << 9,
    SpikeProtectionTransactionCurrentlyActive = 1UL << 10,
    SpikeProtectionAttachmentCurrentlyActive = 1UL << 11,
    HasMinifiedStackTrace = 1UL << 12,
    HasCronMonitors = 1UL << 13,
    HasCronCheckins = 1UL << 14,
    HasSourcemaps = 1UL << 15,
    HasCustomMetrics = 1UL << 16,
}

/// <summary>Where projects' flags live. Replace the default (Redis) by registering another before AddBillingConsumer.</summary>
public interface IProjectFlagsStore
{
    /// <summary>The project's flags, or null when the project does not exist.</summary>
    ValueTask<ProjectFlags?> GetFlagsAsync(long projectId, CancellationToken cancellationToken);

    /// <summary>
    /// Sets the given bits atomically (a bit-or: racing callers and repeats are harmless) and returns the flags
    /// after it, or null when the project does not exist.
    /// </summary>
    ValueTask<ProjectFlags?> AddFlagsAsync(long projectId, ProjectFlags flags, CancellationToken cancellationToken);
}
