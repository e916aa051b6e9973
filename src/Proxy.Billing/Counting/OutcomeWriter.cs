using System.Text.Json;
using Proxy.Billing.Messages;

namespace Proxy.Billing.Counting;

/// <summary>Builds and serializes outcomes; the timestamp is the processing time, from the injected clock.</summary>
internal sealed class OutcomeWriter(TimeProvider timeProvider)
{
    public Outcome Accepted(long orgId, long projectId, BillableCount count) =>
        new(timeProvider.GetUtcNow(), orgId, projectId, KeyId: null, OutcomeKind.Accepted, Reason: null, EventId: null,
            count.Category, count.Quantity);

    public FirstCustomMetricReceived FirstCustomMetric(long orgId, long projectId) =>
        new(orgId, projectId, timeProvider.GetUtcNow());

    public static byte[] Serialize(Outcome outcome) =>
        JsonSerializer.SerializeToUtf8Bytes(outcome, BillingJsonContext.Default.Outcome);

    public static byte[] Serialize(FirstCustomMetricReceived received) =>
        JsonSerializer.SerializeToUtf8Bytes(received, BillingJsonContext.Default.FirstCustomMetricReceived);
}
