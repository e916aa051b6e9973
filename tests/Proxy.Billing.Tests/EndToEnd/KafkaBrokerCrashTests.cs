using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;
using Proxy.Testing;

namespace Proxy.Billing.Tests.EndToEnd;

/// <summary>
/// SIGKILL of the real host on a real Kafka broker. The mock cluster the other Kafka tests use stores no offsets
/// sent with a transaction and hides no aborted transaction from read_committed readers, so exactly-once across
/// a crash can only be shown on a broker: this runs when KAFKA_BOOTSTRAP_SERVERS is set and is skipped, with that
/// reason, when it is not.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class KafkaBrokerCrashTests(RedisServer redis, ITestOutputHelper output)
{
    private const string SkipReason =
        "KAFKA_BOOTSTRAP_SERVERS is not set: the crash test needs a real Kafka broker (e.g. KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092); " +
        "the mock cluster stores no transactional offsets and fences no zombie producer";

    private static string Bootstrap => Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS") ?? "";

    private readonly long _org = Ids.NewOrganization();

    [Fact]
    internal async Task Killing_the_consumer_mid_batch_loses_and_repeats_no_outcome_on_kafka()
    {
        Assert.SkipWhen(string.IsNullOrWhiteSpace(Bootstrap), SkipReason);
        var kafka = new KafkaBilling(Bootstrap, redis);
        kafka.Settings["Billing:BatchSize"] = "100";
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Bootstrap }).Build())
        {
            await admin.CreateTopicsAsync(kafka.Topics.Select(t => new TopicSpecification { Name = t.Topic, NumPartitions = t.Partitions, ReplicationFactor = -1 }));
        }

        var expected = new Dictionary<long, long>();
        var inputs = new List<(int, byte[]?, string)>();
        for (var i = 0; i < 6_000; i++)
        {
            var project = 2_000_000L + i;
            var quantity = 1 + i % 5;
            inputs.Add((i % KafkaBilling.InputPartitions, null, Buckets.Usage(_org, project, quantity, i % 2 == 0 ? Buckets.TransactionsUsage : Buckets.SpansUsage)));
            expected[project] = quantity;
        }

        kafka.Produce(inputs);
        for (var run = 0; run < 2; run++)
        {
            await using var host = HostProcess.Start(kafka.Settings);
            var target = expected.Count * (run + 1) / 3;
            await Eventually.HoldsAsync(() => Task.FromResult(host.HasExited || kafka.Produced(kafka.BillingOutcomesTopic) >= target),
                $"run {run} reaches {target} outcomes", limitSeconds: 120);
            host.HasExited.Should().BeFalse(host.Output);
            await host.KillAsync();
        }

        await using var last = HostProcess.Start(kafka.Settings);
        var outcomes = (await kafka.ReadAsync(kafka.BillingOutcomesTopic, expected.Count, TimeSpan.FromSeconds(3), limitSeconds: 120))
            .Select(r => JsonSerializer.Deserialize(r.Message.Value, BillingJsonContext.Default.Outcome)!).ToList();
        var byProject = outcomes.GroupBy(o => o.ProjectId!.Value).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"outcomes {outcomes.Count} of {expected.Count}");
        byProject.Values.Sum(c => c - 1).Should().Be(0, "no outcome is repeated");
        expected.Keys.Count(p => !byProject.ContainsKey(p)).Should().Be(0, "no outcome is lost");
        outcomes.Sum(o => o.Quantity).Should().Be(expected.Values.Sum());
    }
}
