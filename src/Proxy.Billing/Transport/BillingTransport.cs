using Proxy.Billing.Messages;

namespace Proxy.Billing.Transport;

/// <summary>One input message: its id on the transport (a stream entry id, or partition@offset) and its bytes.</summary>
internal sealed record InputMessage(string Id, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Kafka only: the partition and offset the message came from.</summary>
    public int Partition { get; init; }

    public long Offset { get; init; }

    /// <summary>Kafka only: the message key, kept on the dead letter.</summary>
    public byte[]? Key { get; init; }
}

/// <summary>Where an output message goes; each transport maps these to its own stream or topic names.</summary>
internal enum Destination
{
    BillingOutcomes,
    Outcomes,
    Events,
    DeadLetters,
}

/// <summary>
/// One message to write, tied to the input it came from: the transport writes it if and only if it acknowledges
/// that input, in the same atomic step.
/// </summary>
internal readonly record struct OutboundMessage(int InputIndex, Destination Destination, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Dead letters: why the input was rejected (<c>error_type: detail</c>).</summary>
    public string? Error { get; init; }

    /// <summary>Outcomes: the outcome, category and quantity, for telemetry.</summary>
    public OutcomeKind Outcome { get; init; }

    public DataCategory? Category { get; init; }

    public long Quantity { get; init; }
}

/// <summary>
/// A stream system the consumer reads buckets from and writes outcomes to. A commit writes the outputs of a
/// batch and acknowledges its inputs atomically, so a crash at any point neither loses nor repeats an output.
/// </summary>
internal interface IBillingTransport : IAsyncDisposable
{
    /// <summary>OpenTelemetry <c>messaging.system</c>: <c>redis</c> or <c>kafka</c>.</summary>
    string System { get; }

    /// <summary>The input stream or topic (<c>messaging.destination.name</c>).</summary>
    string InputName { get; }

    string ConsumerGroup { get; }

    /// <summary>Messages not yet consumed by the group, as last observed; null before the first observation.</summary>
    long? Lag { get; }

    /// <summary>
    /// Connects (again) and makes sure the group exists. After it, the first reads return the messages this
    /// consumer had read but not committed, so a failed commit is retried.
    /// </summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Up to the batch size of messages; waits at most the batch wait, and returns none when idle.</summary>
    Task<IReadOnlyList<InputMessage>> ReadBatchAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes the outputs and acknowledges the inputs in one atomic step. Returns, per input, whether this call
    /// committed it (false: another consumer already had, and its outputs were not written again).
    /// </summary>
    Task<IReadOnlyList<bool>> CommitAsync(IReadOnlyList<InputMessage> inputs, IReadOnlyList<OutboundMessage> outputs, CancellationToken cancellationToken);

    /// <summary>Whether an input this group read earlier has been committed (by any consumer of the group).</summary>
    Task<bool> IsCommittedAsync(string inputId, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the consumer can consume now: its input answers within <paramref name="timeout"/> and it is in its group.
    /// Never throws for an unreachable input; that is a reason.
    /// </summary>
    Task<TransportReadiness> CheckReadinessAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>Whether a transport can consume now: <see cref="Reason"/> is null when it can, else why not.</summary>
internal sealed record TransportReadiness(string? Reason, Exception? Exception = null)
{
    public static TransportReadiness Ready { get; } = new((string?)null);

    /// <summary>What the transport observed on the way (partitions, brokers), for the health report.</summary>
    public Dictionary<string, object> Data { get; init; } = [];
}
