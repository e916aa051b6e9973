using System.Text;
using Confluent.Kafka;
using Proxy.Billing.Transport;

namespace Proxy.Billing.Tests.Transport;

/// <summary>The Kafka adapter's decisions, without a broker: what one transaction produces and commits.</summary>
public sealed class KafkaBatchPlanTests
{
    private static readonly BillingKafkaOptions Options = new() { BootstrapServers = "unused:9092" };

    [Fact]
    internal void Commits_the_next_offset_of_every_partition_in_the_batch()
    {
        var inputs = new[] { Input(0, 10), Input(1, 3), Input(0, 11), Input(2, 0), Input(1, 4) };

        var plan = KafkaBatchPlan.Build(Options, inputs, []);

        plan.Offsets.Should().Equal(
            new TopicPartitionOffset("snuba-generic-metrics", 0, 12),
            new TopicPartitionOffset("snuba-generic-metrics", 1, 5),
            new TopicPartitionOffset("snuba-generic-metrics", 2, 1));
        plan.Records.Should().BeEmpty();
    }

    [Fact]
    internal void Routes_each_output_to_its_topic_with_no_key_for_outcomes()
    {
        var inputs = new[] { Input(0, 1), Input(0, 2) };
        var outputs = new[]
        {
            new OutboundMessage(0, Destination.BillingOutcomes, "b"u8.ToArray()),
            new OutboundMessage(0, Destination.Events, "e"u8.ToArray()),
            new OutboundMessage(1, Destination.Outcomes, "o"u8.ToArray()),
        };

        var plan = KafkaBatchPlan.Build(Options, inputs, outputs);

        plan.Records.Select(r => (r.Topic, r.Key, Encoding.UTF8.GetString(r.Value))).Should().Equal(
            ("outcomes-billing", (byte[]?)null, "b"),
            ("first-custom-metric-received", null, "e"),
            ("outcomes", null, "o"));
        plan.Records[1].Headers.Should().ContainSingle(h => h.Key == "type" && Encoding.UTF8.GetString(h.Value) == "first_custom_metric_received");
    }

    [Fact]
    internal void A_dead_letter_keeps_the_input_key_and_bytes_and_names_the_error_and_the_source()
    {
        var input = Input(3, 99) with { Key = "k"u8.ToArray() };
        var letter = new OutboundMessage(0, Destination.DeadLetters, input.Payload) { Error = "invalid_json: bad" };

        var record = KafkaBatchPlan.Build(Options, [input], [letter]).Records.Should().ContainSingle().Subject;

        record.Topic.Should().Be("snuba-generic-metrics-dlq");
        record.Key.Should().Equal("k"u8.ToArray());
        record.Value.Should().Equal(input.Payload.ToArray());
        record.Headers.Select(h => (h.Key, Encoding.UTF8.GetString(h.Value))).Should().Equal(
            ("error", "invalid_json: bad"), ("input_topic", "snuba-generic-metrics"), ("input_partition", "3"), ("input_offset", "99"));
    }

    [Fact]
    internal void Uses_the_configured_topic_names()
    {
        var options = Options with { InputTopic = "in", BillingOutcomesTopic = "bill", DeadLetterTopic = "dlq" };
        var inputs = new[] { Input(0, 5) };

        var plan = KafkaBatchPlan.Build(options, inputs, [new OutboundMessage(0, Destination.BillingOutcomes, "x"u8.ToArray())]);

        plan.Records.Single().Topic.Should().Be("bill");
        plan.Offsets.Single().Should().Be(new TopicPartitionOffset("in", 0, 6));
    }

    [Theory]
    [InlineData(0, 0L)]
    [InlineData(12, 9_876_543_210L)]
    internal void Input_ids_round_trip(int partition, long offset)
    {
        KafkaBatchPlan.TryParseInputId(KafkaBatchPlan.InputId(partition, offset), out var p, out var o).Should().BeTrue();

        (p, o).Should().Be((partition, offset));
    }

    [Theory]
    [InlineData("1-0")]
    [InlineData("@5")]
    [InlineData("x@5")]
    [InlineData("1@")]
    internal void Rejects_ids_that_are_not_partition_at_offset(string id)
    {
        KafkaBatchPlan.TryParseInputId(id, out _, out _).Should().BeFalse();
    }

    private static InputMessage Input(int partition, long offset) =>
        new(KafkaBatchPlan.InputId(partition, offset), Encoding.UTF8.GetBytes($"{{\"p\":{partition}}}")) { Partition = partition, Offset = offset };
}
