using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Billing.Telemetry;

namespace Proxy.Billing.Transport;

/// <summary>
/// Kafka: a read-committed consumer without auto-commit, and a transactional producer. Each batch's outputs and
/// its input offsets are committed in one transaction (SendOffsetsToTransaction), so the batch is exactly-once.
/// After any failure the clients are rebuilt and reading resumes from the last committed offsets.
/// <para>
/// Rebalances: librdkafka runs the assignment callbacks inside <c>Consume</c>, and only there, so they run on the
/// thread that reads the batch and never between the end of a read and its commit. When partitions are revoked
/// or lost, the handler drops their messages from the batch being read before it returns (and so before this
/// member rejoins and another member can be given them), and a read that still holds messages ends there: a
/// batch never spans an assignment change. A commit also refuses a batch read under an earlier assignment.
/// </para>
/// </summary>
internal sealed class KafkaTransport(IOptions<BillingOptions> options, TimeProvider timeProvider, ILogger<KafkaTransport> logger)
    : IBillingTransport
{
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(100);

    private readonly BillingOptions _options = options.Value;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private IProducer<byte[]?, byte[]>? _producer;
    private long _lag = -1;
    private readonly Lock _probeGate = new();
    private IAdminClient? _probe;

    // Touched only by the thread inside ReadBatchAsync/CommitAsync/StartAsync (the callbacks run inside Consume
    // and Close, on that thread); the consumer service calls them one at a time.
    private List<InputMessage>? _reading;
    private long _assignmentEpoch;
    private long _batchEpoch = -1;
    private volatile bool _assigned;
    private int _readingCount;

    public string System => "kafka";

    public string InputName => _options.Kafka.InputTopic;

    public string ConsumerGroup => _options.Kafka.GroupId;

    public long? Lag => Volatile.Read(ref _lag) is var lag and >= 0 ? lag : null;

    /// <summary>Whether the consumer is in its group with at least one partition assigned.</summary>
    public bool HasAssignment => _assigned;

    /// <summary>Messages in the batch being read, not yet handed to the processor (what a rebalance would discard).</summary>
    internal int ReadingCount => Volatile.Read(ref _readingCount);

    public string TransactionalId => string.IsNullOrWhiteSpace(_options.Kafka.TransactionalId)
        ? $"billing-metrics-consumer-{Environment.MachineName}"
        : _options.Kafka.TransactionalId;

    public Task StartAsync(CancellationToken cancellationToken) => Task.Run(() =>
    {
        CloseClients();
        var kafka = _options.Kafka;
        var consumerConfig = new ConsumerConfig(new Dictionary<string, string>(kafka.Consumer))
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = kafka.GroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            IsolationLevel = IsolationLevel.ReadCommitted,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            ClientId = "edge-proxy-billing",
        };
        var producerConfig = new ProducerConfig(new Dictionary<string, string>(kafka.Producer))
        {
            BootstrapServers = kafka.BootstrapServers,
            TransactionalId = TransactionalId,
            EnableIdempotence = true,
            ClientId = "edge-proxy-billing",
        };

        _producer = new ProducerBuilder<byte[]?, byte[]>(producerConfig)
            .SetErrorHandler((_, error) => logger.KafkaError(error.Reason))
            .Build();
        _producer.InitTransactions(kafka.TransactionTimeout);
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(consumerConfig)
            .SetErrorHandler((_, error) => logger.KafkaError(error.Reason))
            .SetPartitionsAssignedHandler((consumer, partitions) => OnAssigned(consumer, partitions))
            .SetPartitionsRevokedHandler((consumer, partitions) => OnRevoked(consumer, partitions, lost: false))
            .SetPartitionsLostHandler((consumer, partitions) => OnRevoked(consumer, partitions, lost: true))
            .Build();
        _consumer.Subscribe(kafka.InputTopic);
    }, cancellationToken);

    public Task<IReadOnlyList<InputMessage>> ReadBatchAsync(CancellationToken cancellationToken) =>
        Task.Run<IReadOnlyList<InputMessage>>(() =>
        {
            var consumer = _consumer ?? throw new InvalidOperationException("the Kafka transport is not started");
            var batch = new List<InputMessage>();
            _reading = batch;
            try
            {
                Fill(consumer, batch, cancellationToken);
            }
            finally
            {
                _reading = null;
                Volatile.Write(ref _readingCount, 0);
            }

            _batchEpoch = _assignmentEpoch;
            ObserveLag(consumer);
            cancellationToken.ThrowIfCancellationRequested();
            return batch;
        }, CancellationToken.None);

    /// <summary>
    /// Consumes into the batch until it is full or the batch wait ends. An assignment change ends a batch that
    /// still holds messages read before it (those of revoked partitions are gone already); an empty batch goes on
    /// under the new assignment. Each Consume waits at most <see cref="PollSlice"/>, so the deadline and the
    /// token are looked at again at least that often.
    /// </summary>
    private void Fill(IConsumer<byte[]?, byte[]?> consumer, List<InputMessage> batch, CancellationToken cancellationToken)
    {
        var epoch = _assignmentEpoch;
        var deadline = timeProvider.GetUtcNow() + _options.MaxBatchWait;
        while (batch.Count < _options.BatchSize && !cancellationToken.IsCancellationRequested)
        {
            var remaining = deadline - timeProvider.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            var result = consumer.Consume(remaining < PollSlice ? remaining : PollSlice);
            if (_assignmentEpoch != epoch)
            {
                // The callbacks ran inside this Consume; a message it returned belongs to the new assignment.
                epoch = _assignmentEpoch;
                if (batch.Count > 0)
                {
                    Keep(batch, result);
                    break;
                }
            }

            Keep(batch, result);
            Volatile.Write(ref _readingCount, batch.Count);
        }
    }

    private static void Keep(List<InputMessage> batch, ConsumeResult<byte[]?, byte[]?>? result)
    {
        if (result is null || result.IsPartitionEOF)
        {
            return;
        }

        batch.Add(new InputMessage(KafkaBatchPlan.InputId(result.Partition.Value, result.Offset.Value),
            result.Message.Value ?? ReadOnlyMemory<byte>.Empty)
        {
            Partition = result.Partition.Value,
            Offset = result.Offset.Value,
            Key = result.Message.Key,
        });
    }

    private void OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        _assignmentEpoch++;
        _assigned = consumer.Assignment.Count + partitions.Count > 0;
        logger.PartitionsAssigned(string.Join(',', partitions.Select(p => p.Partition.Value)));
    }

    /// <summary>
    /// Revoked (this member gives them up and rejoins after this returns) or lost (another member may own them
    /// already): the messages of those partitions that are read but not committed are dropped, so no commit of
    /// this member carries them. The new owner reads them again from the committed offset.
    /// </summary>
    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions, bool lost)
    {
        _assignmentEpoch++;
        var gone = partitions.Select(p => p.Partition.Value).ToHashSet();
        var discarded = _reading?.RemoveAll(m => gone.Contains(m.Partition)) ?? 0;
        Volatile.Write(ref _readingCount, _reading?.Count ?? 0);
        _assigned = consumer.Assignment.Any(p => !gone.Contains(p.Partition.Value));
        var names = string.Join(',', gone.Order());
        if (lost)
        {
            logger.PartitionsLost(names, discarded);
        }
        else
        {
            logger.PartitionsRevoked(names, discarded);
        }
    }

    public Task<IReadOnlyList<bool>> CommitAsync(IReadOnlyList<InputMessage> inputs, IReadOnlyList<OutboundMessage> outputs,
        CancellationToken cancellationToken) => Task.Run<IReadOnlyList<bool>>(() =>
        {
            var consumer = _consumer ?? throw new InvalidOperationException("the Kafka transport is not started");
            var producer = _producer!;
            if (_batchEpoch != _assignmentEpoch)
            {
                // Cannot happen while reads and commits alternate on one thread; refuse rather than bill twice.
                throw new InvalidOperationException("the batch was read under an earlier partition assignment; it is read again");
            }

            var plan = KafkaBatchPlan.Build(_options.Kafka, inputs, outputs);
            var timeout = _options.Kafka.TransactionTimeout;
            producer.BeginTransaction();
            try
            {
                foreach (var record in plan.Records)
                {
                    var headers = new Headers();
                    foreach (var header in record.Headers)
                    {
                        headers.Add(header.Key, header.Value);
                    }

                    // Delivery failures make CommitTransaction fail, which aborts the whole batch.
                    producer.Produce(record.Topic, new Message<byte[]?, byte[]> { Key = record.Key, Value = record.Value, Headers = headers });
                }

                producer.SendOffsetsToTransaction(plan.Offsets, consumer.ConsumerGroupMetadata, timeout);
                producer.CommitTransaction(timeout);
            }
            catch (KafkaException ex)
            {
                logger.TransactionAborted(ex.Error.Reason);
                if (!ex.Error.IsFatal)
                {
                    try
                    {
                        producer.AbortTransaction(timeout);
                    }
                    catch (KafkaException abort)
                    {
                        logger.TransactionAborted(abort.Error.Reason);
                    }
                }

                throw;
            }

            var committed = new bool[inputs.Count];
            Array.Fill(committed, true);
            return committed;
        }, CancellationToken.None);

    public Task<bool> IsCommittedAsync(string inputId, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var consumer = _consumer ?? throw new InvalidOperationException("the Kafka transport is not started");
        if (!KafkaBatchPlan.TryParseInputId(inputId, out var partition, out var offset))
        {
            return false;
        }

        var committed = consumer.Committed([new TopicPartition(_options.Kafka.InputTopic, partition)], _options.Kafka.TransactionTimeout);
        return committed.Count == 1 && committed[0].Offset.Value > offset;
    }, cancellationToken);

    /// <summary>
    /// Ready when a broker gives the input topic's metadata within the timeout (asked through a client of the check's
    /// own, so the check never touches the consumer that the reading thread owns) and the consumer has partitions.
    /// </summary>
    public Task<TransportReadiness> CheckReadinessAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var assigned = _assigned;
        var data = new Dictionary<string, object> { ["kafka.assigned"] = assigned };
        try
        {
            var metadata = Probe().GetMetadata(InputName, timeout);
            data["kafka.brokers"] = metadata.Brokers.Count;
            var topic = metadata.Topics.FirstOrDefault(t => t.Topic == InputName);
            if (topic is null || topic.Error.IsError)
            {
                return new TransportReadiness($"the input topic cannot be read: {topic?.Error.Reason ?? "not in the metadata"}") { Data = data };
            }

            data["kafka.partitions"] = topic.Partitions.Count;
        }
        catch (KafkaException ex)
        {
            return new TransportReadiness($"no Kafka broker answers: {ex.Error.Reason}", ex) { Data = data };
        }

        return assigned
            ? new TransportReadiness(null) { Data = data }
            : new TransportReadiness("the consumer has not joined its group (no partition assigned)") { Data = data };
    }, cancellationToken);

    private IAdminClient Probe()
    {
        lock (_probeGate)
        {
            // The consumer's extra properties carry the security settings; librdkafka ignores its consumer-only ones here.
            return _probe ??= new AdminClientBuilder(new AdminClientConfig(new Dictionary<string, string>(_options.Kafka.Consumer))
            {
                BootstrapServers = _options.Kafka.BootstrapServers,
                ClientId = "edge-proxy-billing-readiness",
            })
                .SetLogHandler((_, _) => { })
                .SetErrorHandler((_, _) => { })
                .Build();
        }
    }

    public ValueTask DisposeAsync()
    {
        CloseClients();
        lock (_probeGate)
        {
            _probe?.Dispose();
            _probe = null;
        }

        return ValueTask.CompletedTask;
    }

    private void ObserveLag(IConsumer<byte[]?, byte[]?> consumer)
    {
        long lag = 0;
        var known = false;
        foreach (var partition in consumer.Assignment)
        {
            var high = consumer.GetWatermarkOffsets(partition).High;
            var position = consumer.Position(partition);
            if (high != Offset.Unset && position != Offset.Unset)
            {
                lag += Math.Max(high.Value - position.Value, 0);
                known = true;
            }
        }

        if (known)
        {
            Volatile.Write(ref _lag, lag);
        }
    }

    private void CloseClients()
    {
        _assigned = false;
        if (_consumer is { } consumer)
        {
            try
            {
                consumer.Close();
            }
            catch (KafkaException ex)
            {
                logger.KafkaError(ex.Error.Reason);
            }

            consumer.Dispose();
            _consumer = null;
        }

        _producer?.Dispose();
        _producer = null;
    }
}
