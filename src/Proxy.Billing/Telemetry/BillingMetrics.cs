using System.Diagnostics;
using System.Diagnostics.Metrics;
using Proxy.Billing.Messages;
using Proxy.Billing.Transport;

namespace Proxy.Billing.Telemetry;

/// <summary>
/// The consumer's instruments, named after the OpenTelemetry messaging conventions where one exists.
/// Register the meter with <c>AddMeter(BillingMetrics.MeterName)</c>.
/// </summary>
public sealed class BillingMetrics
{
    public const string MeterName = "EdgeProxy.Billing";

    /// <summary>
    /// The billing attributes in the proxy's <c>proxy.</c> namespace (the others are OpenTelemetry's <c>messaging.*</c>
    /// and <c>error.type</c>), as every meter of the proxy names them; docs/operations.md lists them.
    /// </summary>
    public const string CategoryAttribute = "proxy.billing.category";

    public const string OutcomeAttribute = "proxy.billing.outcome";

    private readonly Counter<long> _consumed;
    private readonly Histogram<double> _processDuration;
    private readonly Counter<long> _outcomes;
    private readonly Counter<long> _outcomeQuantity;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _events;
    private volatile IBillingTransport? _lagSource;

    public BillingMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _consumed = meter.CreateCounter<long>("messaging.client.consumed.messages", "{message}",
            "Messages read from the input stream or topic.");
        _processDuration = meter.CreateHistogram<double>("messaging.process.duration", "s",
            "Time to process and commit one batch.");
        _outcomes = meter.CreateCounter<long>("billing.outcomes.produced", "{outcome}",
            "Outcome messages committed, by category.");
        _outcomeQuantity = meter.CreateCounter<long>("billing.outcomes.quantity", "{item}",
            "Billable items in the committed outcomes, by category.");
        _deadLetters = meter.CreateCounter<long>("billing.dead_letters", "{message}",
            "Input messages moved to the dead-letter stream or topic, by error type.");
        _events = meter.CreateCounter<long>("billing.first_custom_metric.events", "{event}",
            "first_custom_metric_received events committed.");
        meter.CreateObservableGauge("messaging.consumer.lag", ObserveLag, "{message}",
            "Messages in the input not yet consumed by the group, as last observed.");
    }

    internal void ObserveLagOf(IBillingTransport transport) => _lagSource = transport;

    internal void Consumed(IBillingTransport transport, int count) =>
        _consumed.Add(count, Common(transport));

    internal void BatchProcessed(IBillingTransport transport, TimeSpan duration) =>
        _processDuration.Record(duration.TotalSeconds, Common(transport));

    internal void Committed(IBillingTransport transport, in OutboundMessage output)
    {
        switch (output.Destination)
        {
            case Destination.BillingOutcomes or Destination.Outcomes:
                var tags = new TagList
                {
                    { "messaging.system", transport.System },
                    { CategoryAttribute, Outcome.ApiName(output.Category) },
                    { OutcomeAttribute, Outcome.ApiName(output.Outcome) },
                };
                _outcomes.Add(1, tags);
                _outcomeQuantity.Add(output.Quantity, tags);
                break;
            case Destination.DeadLetters:
                var errorType = output.Error is { } error && error.IndexOf(':', StringComparison.Ordinal) is var colon and > 0
                    ? error[..colon]
                    : "unknown";
                _deadLetters.Add(1, new TagList { { "messaging.system", transport.System }, { "error.type", errorType } });
                break;
            default:
                _events.Add(1, new TagList { { "messaging.system", transport.System } });
                break;
        }
    }

    private static TagList Common(IBillingTransport transport) => new()
    {
        { "messaging.system", transport.System },
        { "messaging.destination.name", transport.InputName },
        { "messaging.consumer.group.name", transport.ConsumerGroup },
    };

    private IEnumerable<Measurement<long>> ObserveLag()
    {
        if (_lagSource is { Lag: { } lag } transport)
        {
            yield return new Measurement<long>(lag, Common(transport));
        }
    }
}
