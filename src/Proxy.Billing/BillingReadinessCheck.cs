using Microsoft.Extensions.Diagnostics.HealthChecks;
using Proxy.Billing.Transport;

namespace Proxy.Billing;

/// <summary>
/// Ready when the consumer can consume: its input answers (Kafka: a broker gives the input topic's metadata; Redis:
/// the input stream's groups are read) and it is in its group (Kafka: partitions assigned; Redis: the consumer group
/// exists and this consumer started on it). When not, the result carries the registration's failure status, the reason
/// as its description and the input and group in its data.
/// </summary>
internal sealed class BillingReadinessCheck(IBillingTransport transport) : IHealthCheck
{
    public const string Name = "billing";

    /// <summary>The host's readiness tag (<c>/readyz</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>The tag of the billing check alone (<c>/readyz/billing</c>).</summary>
    public const string Tag = "billing";

    /// <summary>Longest wait for the input's answer.</summary>
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var data = new Dictionary<string, object>
        {
            ["messaging.system"] = transport.System,
            ["messaging.destination.name"] = transport.InputName,
            ["messaging.consumer.group.name"] = transport.ConsumerGroup,
        };
        var readiness = await transport.CheckReadinessAsync(Timeout, cancellationToken);
        foreach (var (key, value) in readiness.Data)
        {
            data[key] = value;
        }

        return readiness.Reason is null
            ? HealthCheckResult.Healthy($"consuming from {transport.System}", data)
            : new HealthCheckResult(context.Registration.FailureStatus, readiness.Reason, readiness.Exception, data);
    }
}
