using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Proxy.Billing.Tests.Support;

/// <summary>
/// librdkafka's mock cluster, hosted in the test process: a Kafka-protocol broker on a loopback port that any
/// client (in this process or another) reaches at <see cref="BootstrapServers"/>. It lives as long as the client
/// that created it (<c>test.mock.num.brokers=1</c>), which this fixture keeps. The mock does not support
/// CreateTopics, so topics are created through <c>rd_kafka_mock_topic_create</c> on that client's handle.
/// Its limits: it stores no offsets sent with a transaction, does not hide aborted or open transactions from
/// read_committed readers, and fences no zombie producer; tests of those guarantees need a real broker.
/// </summary>
public sealed unsafe class KafkaMockCluster : IDisposable
{
    private readonly IProducer<Null, Null> _owner;
    private readonly IntPtr _cluster;
    private readonly delegate* unmanaged<IntPtr, byte*, int, int, int> _topicCreate;

    public KafkaMockCluster()
    {
        _owner = new ProducerBuilder<Null, Null>(new ProducerConfig(new Dictionary<string, string>
        {
            ["test.mock.num.brokers"] = "1",
        })).Build();
        var library = NativeLibrary.Load(LoadedLibrdkafka());
        var handleMockCluster = (delegate* unmanaged<IntPtr, IntPtr>)NativeLibrary.GetExport(library, "rd_kafka_handle_mock_cluster");
        _topicCreate = (delegate* unmanaged<IntPtr, byte*, int, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_topic_create");
        var rebalanceDelay = (delegate* unmanaged<IntPtr, int, void>)NativeLibrary.GetExport(library, "rd_kafka_mock_group_initial_rebalance_delay_ms");
        _cluster = handleMockCluster(NativeHandle(_owner.Handle));
        if (_cluster == IntPtr.Zero)
        {
            throw new InvalidOperationException("librdkafka made no mock cluster for test.mock.num.brokers=1");
        }

        // A group assigns as soon as its first member joins, instead of after the broker's default 3 s.
        rebalanceDelay(_cluster, 0);
        using var admin = new DependentAdminClientBuilder(_owner.Handle).Build();
        var broker = admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Single();
        BootstrapServers = $"{broker.Host}:{broker.Port}";
    }

    public string BootstrapServers { get; }

    public void CreateTopic(string topic, int partitions)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(topic + "\0");
        ErrorCode error;
        fixed (byte* pointer = name)
        {
            error = (ErrorCode)_topicCreate(_cluster, pointer, partitions, 1);
        }

        if (error != ErrorCode.NoError)
        {
            throw new InvalidOperationException($"the mock cluster did not create {topic}: {error}");
        }
    }

    public void Dispose() => _owner.Dispose();

    /// <summary>The rd_kafka_t of a client: Confluent.Kafka keeps it in the internal <c>Handle.LibrdkafkaHandle</c> (a SafeHandle).</summary>
    private static IntPtr NativeHandle(Handle handle)
    {
        var property = typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("Confluent.Kafka's Handle has no LibrdkafkaHandle property any more");
        var safeHandle = (SafeHandle)property.GetValue(handle)!;
        return safeHandle.DangerousGetHandle();
    }

    /// <summary>
    /// The librdkafka Confluent.Kafka loaded: it picks one of several builds in runtimes/ (the default one needs
    /// libsasl2, which not every machine has), so the same file is looked up in this process's memory map.
    /// </summary>
    private static string LoadedLibrdkafka() =>
        File.ReadLines("/proc/self/maps")
            .Select(line => line[(line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? slash : line.Length)..])
            .FirstOrDefault(path => Path.GetFileName(path).EndsWith("librdkafka.so", StringComparison.Ordinal))
        ?? throw new InvalidOperationException("librdkafka is not loaded; the mock cluster needs Linux and a Confluent.Kafka client");
}

/// <summary>One mock cluster for every Kafka test class; topics are named per test, so tests share it.</summary>
[CollectionDefinition(Name)]
public sealed class KafkaTests : ICollectionFixture<KafkaMockCluster>, ICollectionFixture<Proxy.Testing.RedisServer>
{
    public const string Name = "kafka";
}
