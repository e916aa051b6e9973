using System.Diagnostics.Metrics;
using Attr = Proxy.Routing.Telemetry.TelemetryAttributes;

namespace Proxy.Mailbox;

/// <summary>Owns every mailbox instrument; one per service provider, created through <see cref="IMeterFactory"/>.</summary>
internal sealed class MailboxMetrics
{
    private readonly TimeProvider _time;
    private readonly Counter<long> _saved;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _deliveredAge;
    private readonly Counter<long> _routing;
    private readonly Counter<long> _laneErrors;
    private readonly Counter<long> _orphans;
    private volatile MailboxStats? _stats;

    public MailboxMetrics(IMeterFactory meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _time = time;
        var meter = meterFactory.Create(MailboxTelemetry.MeterName);
        _saved = meter.CreateCounter<long>("mailbox.entries.saved", "{entry}", "Entries stored durably by the accept path (one per webhook and region).");
        _deliveries = meter.CreateCounter<long>("mailbox.deliveries", "{delivery}", "Delivery attempts by proxy.outcome (ok, retry, dropped, attempts_exceeded, max_age) and proxy.region.");
        _failures = meter.CreateCounter<long>("mailbox.delivery.failures", "{delivery}", "Failed delivery attempts by error.type and proxy.region.");
        _duration = meter.CreateHistogram<double>("mailbox.delivery.duration", "s", "Time to send one entry to its region and get the answer.");
        _deliveredAge = meter.CreateHistogram<double>("mailbox.delivery.age", "s", "Time from acceptance to successful delivery.");
        _routing = meter.CreateCounter<long>("mailbox.routing", "{webhook}", "Mailbox names chosen, by proxy.provider and proxy.mailbox.bucketed.");
        _laneErrors = meter.CreateCounter<long>("mailbox.lane.errors", "{error}",
            "Errors that stopped one lane (claiming it, or draining it) while the other lanes went on, by proxy.mailbox.stage and proxy.region.");
        _orphans = meter.CreateCounter<long>("mailbox.orphans", "{entry}", "Delivery ids taken out of a lane undelivered because their entry was gone (missing) or unreadable (damaged): error.type and proxy.region.");
        meter.CreateObservableGauge("mailbox.pending", () => _stats?.Pending ?? 0, "{entry}", "Entries waiting for delivery in all lanes.");
        meter.CreateObservableGauge("mailbox.dead_letters", () => _stats?.DeadLetters ?? 0, "{entry}", "Entries kept in the dead letters.");
        meter.CreateObservableGauge("mailbox.oldest_pending.age", ObserveOldestAge, "s", "Age of the oldest entry at the head of a lane.");
    }

    public void Saved(int count) => _saved.Add(count);

    public void Delivered(string outcome, string region) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>(Attr.Outcome, outcome), new KeyValuePair<string, object?>(Attr.Region, region));

    public void Failed(string reason, string region) =>
        _failures.Add(1, new KeyValuePair<string, object?>(Attr.ErrorType, reason), new KeyValuePair<string, object?>(Attr.Region, region));

    public void DeliveryDuration(TimeSpan elapsed, string region, int? statusCode) =>
        _duration.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>(Attr.Region, region),
            new KeyValuePair<string, object?>(Attr.HttpResponseStatusCode, statusCode));

    public void DeliveredAge(TimeSpan age, string region) =>
        _deliveredAge.Record(Math.Max(0, age.TotalSeconds), new KeyValuePair<string, object?>(Attr.Region, region));

    public void Routed(string provider, bool bucketed) =>
        _routing.Add(1, new KeyValuePair<string, object?>(Attr.Provider, provider), new KeyValuePair<string, object?>(Attr.MailboxBucketed, bucketed));

    public void LaneFailed(string stage, string region) =>
        _laneErrors.Add(1, new KeyValuePair<string, object?>(Attr.MailboxStage, stage), new KeyValuePair<string, object?>(Attr.Region, region));

    public void Orphaned(string reason, string region) =>
        _orphans.Add(1, new KeyValuePair<string, object?>(Attr.ErrorType, reason), new KeyValuePair<string, object?>(Attr.Region, region));

    /// <summary>The observable gauges report the last stats sampled from the store (by <see cref="MailboxGaugeSampler"/>).</summary>
    public void UpdateStats(MailboxStats stats) => _stats = stats;

    private double ObserveOldestAge() =>
        _stats?.OldestReceivedAt is { } oldest ? Math.Max(0, (_time.GetUtcNow() - oldest).TotalSeconds) : 0;
}
