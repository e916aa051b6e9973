using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Proxy.Testing;

namespace Proxy.Billing.Tests.Support;

/// <summary>
/// The consumer's settings for one test on a Kafka-protocol broker (the in-process mock or a real one): topics
/// and group under a prefix of their own, flags in the test redis-server; and the test's producer and readers.
/// </summary>
internal sealed class KafkaBilling
{
    public KafkaBilling(string bootstrap, RedisServer redis)
    {
        Bootstrap = bootstrap;
        var prefix = "billing-" + Guid.NewGuid().ToString("N")[..8];
        Tag = "{" + prefix + "}";
        Settings = BillingHarness.Settings(redis, Tag).ToDictionary(p => p.Key, p => p.Value!);
        Settings["Billing:Transport"] = "Kafka";
        Settings["Billing:Kafka:BootstrapServers"] = bootstrap;
        Settings["Billing:Kafka:GroupId"] = prefix;
        Settings["Billing:Kafka:TransactionalId"] = prefix;
        Settings["Billing:Kafka:InputTopic"] = prefix + "-snuba-generic-metrics";
        Settings["Billing:Kafka:BillingOutcomesTopic"] = prefix + "-outcomes-billing";
        Settings["Billing:Kafka:OutcomesTopic"] = prefix + "-outcomes";
        Settings["Billing:Kafka:EventsTopic"] = prefix + "-events";
        Settings["Billing:Kafka:DeadLetterTopic"] = prefix + "-dlq";
        Settings["Billing:Kafka:Consumer:session.timeout.ms"] = "6000";
        Settings["Billing:Kafka:Consumer:heartbeat.interval.ms"] = "100";
    }

    public const int InputPartitions = 3;

    public string Bootstrap { get; }

    public string Tag { get; }

    public Dictionary<string, string> Settings { get; }

    public string InputTopic => Settings["Billing:Kafka:InputTopic"];

    public string BillingOutcomesTopic => Settings["Billing:Kafka:BillingOutcomesTopic"];

    public string OutcomesTopic => Settings["Billing:Kafka:OutcomesTopic"];

    public string EventsTopic => Settings["Billing:Kafka:EventsTopic"];

    public string DeadLetterTopic => Settings["Billing:Kafka:DeadLetterTopic"];

    /// <summary>The input topic with <see cref="InputPartitions"/> partitions, and each output topic with one.</summary>
    public IEnumerable<(string Topic, int Partitions)> Topics =>
    [
        (InputTopic, InputPartitions), (BillingOutcomesTopic, 1), (OutcomesTopic, 1), (EventsTopic, 1), (DeadLetterTopic, 1),
    ];

    /// <summary>The consumer in this process (AddBillingConsumer on a generic host), started.</summary>
    public async Task<IHost> StartHostAsync(Action<Dictionary<string, string>>? configure = null, Action<IServiceCollection>? services = null)
    {
        var host = BuildHost(configure, services);
        await host.StartAsync();
        return host;
    }

    /// <summary>The same host, not started yet.</summary>
    public IHost BuildHost(Action<Dictionary<string, string>>? configure = null, Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string>(Settings);
        settings["Logging:LogLevel:Default"] = "Warning";
        configure?.Invoke(settings);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings!);
        services?.Invoke(builder.Services);
        builder.Services.AddBillingConsumer(builder.Configuration);
        return builder.Build();
    }

    /// <summary>Produces each message to its partition and returns where each landed, in order.</summary>
    public IReadOnlyList<TopicPartitionOffset> Produce(IReadOnlyList<(int Partition, byte[]? Key, string Value)> messages)
    {
        using var producer = new ProducerBuilder<byte[]?, string>(new ProducerConfig { BootstrapServers = Bootstrap, LingerMs = 5 }).Build();
        var delivered = new TopicPartitionOffset[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var index = i;
            var (partition, key, value) = messages[i];
            producer.Produce(new TopicPartition(InputTopic, partition), new Message<byte[]?, string> { Key = key, Value = value }, report =>
            {
                if (report.Error.IsError)
                {
                    throw new InvalidOperationException($"the test input was not produced: {report.Error.Reason}");
                }

                delivered[index] = report.TopicPartitionOffset;
            });
        }

        producer.Flush(TimeSpan.FromSeconds(30)).Should().Be(0, "every test input is delivered");
        return delivered;
    }

    /// <summary>Records written to the topic's partition 0 so far (with transaction markers): a progress gauge only.</summary>
    public long Produced(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = Bootstrap, GroupId = "probe" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }

    /// <summary>
    /// Every record of an output topic (read_committed), from the start: waits for at least <paramref name="count"/>,
    /// then until nothing more has come for <paramref name="quiet"/>, so extra records are seen too.
    /// </summary>
    public Task<List<ConsumeResult<byte[]?, string>>> ReadAsync(string topic, int count, TimeSpan quiet, int limitSeconds = 60) => Task.Run(() =>
    {
        using var consumer = new ConsumerBuilder<byte[]?, string>(new ConsumerConfig
        {
            BootstrapServers = Bootstrap,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var records = new List<ConsumeResult<byte[]?, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(limitSeconds);
        var idleSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is { IsPartitionEOF: false })
            {
                records.Add(result);
                idleSince = DateTime.UtcNow;
            }
            else if (records.Count >= count && DateTime.UtcNow - idleSince > quiet)
            {
                break;
            }
        }

        return records;
    });
}
