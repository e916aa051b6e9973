using Microsoft.Extensions.Logging;
using Proxy.Billing.Counting;
using Proxy.Billing.Flags;
using Proxy.Billing.Messages;
using Proxy.Billing.Telemetry;
using Proxy.Billing.Transport;

namespace Proxy.Billing.Processing;

/// <summary>
/// One batch, start to end: parse and count each bucket (reference §5), decide the custom-metric events, commit
/// outputs and acknowledgements atomically through the transport, then record the flags.
/// </summary>
internal sealed class BatchProcessor(
    OutcomeWriter writer,
    CustomMetricFlagger flagger,
    BillingMetrics metrics,
    TimeProvider timeProvider,
    ILogger<BatchProcessor> logger)
{
    public async Task ProcessAsync(IBillingTransport transport, IReadOnlyList<InputMessage> inputs, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        metrics.Consumed(transport, inputs.Count);

        var outputs = new List<OutboundMessage>(inputs.Count);
        var sightings = new List<CustomMetricSighting>();
        for (var i = 0; i < inputs.Count; i++)
        {
            Evaluate(inputs[i], i, outputs, sightings);
        }

        var plan = await flagger.PlanAsync(sightings, transport, cancellationToken);
        if (plan.Events.Count > 0)
        {
            // Transports take the outputs ordered by input; OrderBy is stable, so each input keeps its own order.
            outputs = [.. outputs.Concat(plan.Events).OrderBy(o => o.InputIndex)];
        }

        var committed = await transport.CommitAsync(inputs, outputs, cancellationToken);
        var skipped = 0;
        foreach (var output in outputs)
        {
            if (!committed[output.InputIndex])
            {
                continue;
            }

            metrics.Committed(transport, output);
            if (output.Destination == Destination.DeadLetters)
            {
                logger.DeadLettered(inputs[output.InputIndex].Id, output.Error ?? "");
            }
        }

        foreach (var isCommitted in committed)
        {
            skipped += isCommitted ? 0 : 1;
        }

        logger.BatchCommitted(inputs.Count, inputs.Count - skipped, skipped);
        await flagger.RecordAsync(plan, cancellationToken);
        metrics.BatchProcessed(transport, timeProvider.GetElapsedTime(started));
    }

    /// <summary>The outputs of one input: a dead letter, or at most one outcome; and whether it is a custom metric.</summary>
    internal void Evaluate(InputMessage input, int index, List<OutboundMessage> outputs, List<CustomMetricSighting> sightings)
    {
        if (!BucketParser.TryParse(input.Payload.Span, out var bucket, out var error)
            || !BillableItemCounter.TryCount(bucket, out var count, out error))
        {
            outputs.Add(new OutboundMessage(index, Destination.DeadLetters, input.Payload) { Error = error.ToString() });
            return;
        }

        if (count is { } billable)
        {
            var outcome = writer.Accepted(bucket.OrgId, bucket.ProjectId, billable);
            var destination = Outcome.IsBilling(outcome.Kind) ? Destination.BillingOutcomes : Destination.Outcomes;
            outputs.Add(new OutboundMessage(index, destination, OutcomeWriter.Serialize(outcome))
            {
                Outcome = outcome.Kind,
                Category = billable.Category,
                Quantity = billable.Quantity,
            });
        }

        if (MetricResourceIdentifier.IsCustomMetric(bucket.Mri))
        {
            sightings.Add(new CustomMetricSighting(index, input.Id, bucket.OrgId, bucket.ProjectId));
        }
    }
}
