using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Configuration;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;
using Proxy.Testing;

namespace Proxy.Billing.Tests.EndToEnd;

/// <summary>
/// The Redis end-to-end tests again on a real Kafka broker. They run when KAFKA_BOOTSTRAP_SERVERS is set and are
/// skipped, with that reason, when it is not. Flags still live in the test redis-server.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class KafkaEndToEndTests(RedisServer redis, ITestOutputHelper output)
{
    private const string SkipReason =
        "KAFKA_BOOTSTRAP_SERVERS is not set: the Kafka end-to-end tests need a broker (e.g. KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092)";

    private static string Bootstrap => Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS") ?? "";

    private readonly long _org = Ids.NewOrganization();

    [Fact]
    internal async Task N_buckets_in_give_exactly_the_expected_outcomes_out_on_kafka()
    {
        Assert.SkipWhen(string.IsNullOrWhiteSpace(Bootstrap), SkipReason);
        var settings = await KafkaSettingsAsync();
        var (payloads, expected) = Input(2_000);
        await ProduceAsync(settings["Billing:Kafka:InputTopic"], payloads);

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings!);
        builder.Services.AddBillingConsumer(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();
        var outcomes = await ReadOutcomesAsync(settings["Billing:Kafka:BillingOutcomesTopic"], expected.Count);
        await host.StopAsync();

        Verify(outcomes, expected);
    }

    [Fact]
    internal async Task Killing_the_consumer_mid_batch_loses_and_repeats_no_outcome_on_kafka()
    {
        Assert.SkipWhen(string.IsNullOrWhiteSpace(Bootstrap), SkipReason);
        var settings = await KafkaSettingsAsync();
        settings["Billing:BatchSize"] = "100";
        var (payloads, expected) = Input(6_000);
        await ProduceAsync(settings["Billing:Kafka:InputTopic"], payloads);

        for (var run = 0; run < 2; run++)
        {
            await using var host = HostProcess.Start(settings);
            var target = expected.Count * (run + 1) / 3;
            await Eventually.HoldsAsync(() => Task.FromResult(host.HasExited || Produced(settings["Billing:Kafka:BillingOutcomesTopic"]) >= target),
                $"run {run} reaches {target} outcomes", limitSeconds: 120);
            host.HasExited.Should().BeFalse(host.Output);
            await host.KillAsync();
        }

        await using (var last = HostProcess.Start(settings))
        {
            var outcomes = await ReadOutcomesAsync(settings["Billing:Kafka:BillingOutcomesTopic"], expected.Count);
            Verify(outcomes, expected);
        }
    }

    private async Task<Dictionary<string, string>> KafkaSettingsAsync()
    {
        var prefix = "billing-" + Guid.NewGuid().ToString("N")[..8];
        var settings = BillingHarness.Settings(redis, "{" + prefix + "}").ToDictionary(p => p.Key, p => p.Value!);
        settings["Billing:Transport"] = "Kafka";
        settings["Billing:Kafka:BootstrapServers"] = Bootstrap;
        settings["Billing:Kafka:GroupId"] = prefix;
        settings["Billing:Kafka:TransactionalId"] = prefix;
        settings["Billing:Kafka:InputTopic"] = prefix + "-snuba-generic-metrics";
        settings["Billing:Kafka:BillingOutcomesTopic"] = prefix + "-outcomes-billing";
        settings["Billing:Kafka:OutcomesTopic"] = prefix + "-outcomes";
        settings["Billing:Kafka:EventsTopic"] = prefix + "-events";
        settings["Billing:Kafka:DeadLetterTopic"] = prefix + "-dlq";
        settings["Billing:Kafka:Consumer:session.timeout.ms"] = "6000";

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Bootstrap }).Build();
        await admin.CreateTopicsAsync(
        [
            new TopicSpecification { Name = settings["Billing:Kafka:InputTopic"], NumPartitions = 3, ReplicationFactor = -1 },
            new TopicSpecification { Name = settings["Billing:Kafka:BillingOutcomesTopic"], NumPartitions = 1, ReplicationFactor = -1 },
            new TopicSpecification { Name = settings["Billing:Kafka:OutcomesTopic"], NumPartitions = 1, ReplicationFactor = -1 },
            new TopicSpecification { Name = settings["Billing:Kafka:EventsTopic"], NumPartitions = 1, ReplicationFactor = -1 },
            new TopicSpecification { Name = settings["Billing:Kafka:DeadLetterTopic"], NumPartitions = 1, ReplicationFactor = -1 },
        ]);
        return settings;
    }

    private (List<string> Payloads, Dictionary<long, long> Expected) Input(int count)
    {
        var payloads = new List<string>();
        var expected = new Dictionary<long, long>();
        for (var i = 0; i < count; i++)
        {
            var project = 2_000_000L + i;
            if (i % 10 == 3)
            {
                payloads.Add(Buckets.Duration(_org, project, 1));
                continue;
            }

            var quantity = 1 + i % 5;
            payloads.Add(Buckets.Usage(_org, project, quantity, i % 2 == 0 ? Buckets.TransactionsUsage : Buckets.SpansUsage));
            expected[project] = quantity;
        }

        return (payloads, expected);
    }

    private static async Task ProduceAsync(string topic, IEnumerable<string> payloads)
    {
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = Bootstrap, LingerMs = 5 }).Build();
        foreach (var payload in payloads)
        {
            producer.Produce(topic, new Message<Null, string> { Value = payload });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        await Task.CompletedTask;
    }

    /// <summary>Records written to the topic so far (committed or not, with transaction markers): a progress gauge only.</summary>
    private static long Produced(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = Bootstrap, GroupId = "probe" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }

    /// <summary>Committed outcomes only (read_committed): waits for <paramref name="count"/>, then 3 quiet seconds more for any extra.</summary>
    private static Task<List<Outcome>> ReadOutcomesAsync(string topic, int count) => Task.Run(() =>
    {
        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = Bootstrap,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var outcomes = new List<Outcome>();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        var idleSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is { IsPartitionEOF: false })
            {
                outcomes.Add(JsonSerializer.Deserialize(result.Message.Value, BillingJsonContext.Default.Outcome)!);
                idleSince = DateTime.UtcNow;
            }
            else if (outcomes.Count >= count && DateTime.UtcNow - idleSince > TimeSpan.FromSeconds(3))
            {
                break;
            }
        }

        consumer.Close();
        return outcomes;
    });

    private void Verify(List<Outcome> outcomes, Dictionary<long, long> expected)
    {
        var byProject = outcomes.GroupBy(o => o.ProjectId!.Value).ToDictionary(g => g.Key, g => g.Count());
        var duplicates = byProject.Values.Sum(c => c - 1);
        var lost = expected.Keys.Count(p => !byProject.ContainsKey(p));
        output.WriteLine($"outcomes {outcomes.Count} of {expected.Count}, duplicates {duplicates}, lost {lost}");
        duplicates.Should().Be(0);
        lost.Should().Be(0);
        outcomes.Sum(o => o.Quantity).Should().Be(expected.Values.Sum());
    }
}
