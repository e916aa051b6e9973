using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Billing.Counting;
using Proxy.Billing.Telemetry;
using Proxy.Billing.Transport;
using StackExchange.Redis;

namespace Proxy.Billing.Flags;

/// <summary>A parsed bucket whose MRI is in the <c>custom</c> namespace.</summary>
internal readonly record struct CustomMetricSighting(int InputIndex, string InputId, long OrgId, long ProjectId);

/// <summary>What a batch does about custom metrics: events to commit with it, and flags to record after.</summary>
internal sealed record FlagPlan(IReadOnlyList<OutboundMessage> Events, IReadOnlyList<CustomMetricSighting> FollowUps)
{
    public static readonly FlagPlan Empty = new([], []);
}

/// <summary>
/// Flags a project the first time it sends a custom metric (reference §5.4), with exactly one
/// <c>first_custom_metric_received</c> event per project.
/// <para>
/// The event is an output of the input that first saw the project, so it is committed atomically with that
/// input. Which input that is, is decided by a per-project marker set with SET NX to the input's id: the input
/// that owns the marker publishes (again, if it is redelivered after a crash before its commit); others publish
/// nothing, and once the owner has committed they finish its follow-ups (set the bit and the 7-day key) in case
/// it died between its commit and them.
/// </para>
/// </summary>
internal sealed class CustomMetricFlagger(
    BillingRedisConnection redis,
    ProjectFlagsCache projects,
    OutcomeWriter writer,
    IOptions<BillingOptions> options,
    ILogger<CustomMetricFlagger> logger)
{
    public static string FlagUpdatedKey(long orgId, long projectId) =>
        string.Create(CultureInfo.InvariantCulture, $"has-custom-metrics-flag-updated:{orgId}:{projectId}");

    public string EventMarkerKey(long projectId) =>
        options.Value.Flags.EventMarkerKeyPrefix + projectId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Decides, before the batch is committed, which events it carries and which flags to record after.</summary>
    public async Task<FlagPlan> PlanAsync(IReadOnlyList<CustomMetricSighting> sightings, IBillingTransport transport,
        CancellationToken cancellationToken)
    {
        if (sightings.Count == 0)
        {
            return FlagPlan.Empty;
        }

        var db = await redis.GetDatabaseAsync(cancellationToken);
        var firsts = sightings.DistinctBy(s => (s.OrgId, s.ProjectId)).ToList();
        var updated = await Task.WhenAll(firsts.Select(s => db.KeyExistsAsync(FlagUpdatedKey(s.OrgId, s.ProjectId))));

        var events = new List<OutboundMessage>();
        var followUps = new List<CustomMetricSighting>();
        for (var i = 0; i < firsts.Count; i++)
        {
            var sighting = firsts[i];
            if (updated[i])
            {
                continue;
            }

            ProjectFlags? flags;
            try
            {
                flags = await projects.GetFlagsAsync(sighting.ProjectId, cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                // Stored flags that cannot be read will not get better by retrying: skip the flag, keep the batch moving.
                logger.FlagUnreadable(ex, sighting.ProjectId);
                continue;
            }

            if (flags is not { } known)
            {
                // The project does not exist: nothing is cached, the next custom bucket asks again.
                continue;
            }

            if (known.HasFlag(ProjectFlags.HasCustomMetrics))
            {
                followUps.Add(sighting);
                continue;
            }

            var owner = await db.StringSetAndGetAsync(EventMarkerKey(sighting.ProjectId), sighting.InputId, expiry: null,
                when: When.NotExists);
            if (owner.IsNull || owner == sighting.InputId)
            {
                var received = writer.FirstCustomMetric(sighting.OrgId, sighting.ProjectId);
                events.Add(new OutboundMessage(sighting.InputIndex, Destination.Events, OutcomeWriter.Serialize(received)));
                followUps.Add(sighting);
            }
            else if (await transport.IsCommittedAsync(owner!, cancellationToken))
            {
                followUps.Add(sighting);
            }
        }

        return new FlagPlan(events, followUps);
    }

    /// <summary>After the commit: sets the project's bit and the 7-day key. A failure here is retried by a later bucket.</summary>
    public async Task RecordAsync(FlagPlan plan, CancellationToken cancellationToken)
    {
        if (plan.FollowUps.Count == 0)
        {
            return;
        }

        var db = await redis.GetDatabaseAsync(cancellationToken);
        var ttl = options.Value.Flags.FlagUpdatedTtl;
        foreach (var sighting in plan.FollowUps)
        {
            try
            {
                await projects.AddFlagsAsync(sighting.ProjectId, ProjectFlags.HasCustomMetrics, cancellationToken);
                await db.StringSetAsync(FlagUpdatedKey(sighting.OrgId, sighting.ProjectId), "1", ttl);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidDataException or HttpRequestException)
            {
                logger.FlagFollowUpFailed(ex, sighting.ProjectId);
            }
        }

        foreach (var e in plan.Events)
        {
            var sighting = plan.FollowUps.First(s => s.InputIndex == e.InputIndex);
            logger.FirstCustomMetric(sighting.OrgId, sighting.ProjectId);
        }
    }
}
