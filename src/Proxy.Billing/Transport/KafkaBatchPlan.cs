using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Proxy.Billing.Transport;

/// <summary>One record to produce inside the batch's transaction.</summary>
internal sealed record KafkaRecord(string Topic, byte[]? Key, byte[] Value, IReadOnlyList<KeyValuePair<string, byte[]>> Headers);

/// <summary>
/// What one Kafka transaction holds for a batch: every output record, and per input partition the offset to commit
/// (the highest offset read + 1). Pure, so the decision is tested without a broker.
/// </summary>
internal sealed record KafkaBatchPlan(IReadOnlyList<KafkaRecord> Records, IReadOnlyList<TopicPartitionOffset> Offsets)
{
    public static KafkaBatchPlan Build(BillingKafkaOptions options, IReadOnlyList<InputMessage> inputs, IReadOnlyList<OutboundMessage> outputs)
    {
        var records = new List<KafkaRecord>(outputs.Count);
        foreach (var output in outputs)
        {
            var input = inputs[output.InputIndex];
            records.Add(output.Destination switch
            {
                Destination.BillingOutcomes => new KafkaRecord(options.BillingOutcomesTopic, null, output.Payload.ToArray(), []),
                Destination.Outcomes => new KafkaRecord(options.OutcomesTopic, null, output.Payload.ToArray(), []),
                Destination.Events => new KafkaRecord(options.EventsTopic, null, output.Payload.ToArray(),
                    [Header(StreamFields.Type, Messages.FirstCustomMetricReceived.EventType)]),
                _ => new KafkaRecord(options.DeadLetterTopic, input.Key, output.Payload.ToArray(),
                [
                    Header(StreamFields.Error, output.Error ?? ""),
                    Header("input_topic", options.InputTopic),
                    Header("input_partition", input.Partition.ToString(CultureInfo.InvariantCulture)),
                    Header("input_offset", input.Offset.ToString(CultureInfo.InvariantCulture)),
                ]),
            });
        }

        var next = new SortedDictionary<int, long>();
        foreach (var input in inputs)
        {
            next[input.Partition] = Math.Max(next.GetValueOrDefault(input.Partition, 0), input.Offset + 1);
        }

        var offsets = next.Select(p => new TopicPartitionOffset(options.InputTopic, p.Key, p.Value)).ToList();
        return new KafkaBatchPlan(records, offsets);
    }

    /// <summary>The id of an input: <c>partition@offset</c> (the topic is the configured input topic).</summary>
    public static string InputId(int partition, long offset) =>
        string.Create(CultureInfo.InvariantCulture, $"{partition}@{offset}");

    public static bool TryParseInputId(string id, out int partition, out long offset)
    {
        partition = 0;
        offset = 0;
        var at = id.IndexOf('@', StringComparison.Ordinal);
        return at > 0
            && int.TryParse(id.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out partition)
            && long.TryParse(id.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out offset);
    }

    private static KeyValuePair<string, byte[]> Header(string name, string value) => new(name, Encoding.UTF8.GetBytes(value));
}
