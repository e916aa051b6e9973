using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Billing.Transport;

/// <summary>
/// Redis Streams: a consumer group on the input stream (XREADGROUP), outputs and XACK committed by one script
/// (<see cref="RedisCommitScript"/>), entries left pending by a dead consumer taken over with XAUTOCLAIM.
/// </summary>
internal sealed class RedisStreamsTransport(BillingRedisConnection redis, IOptions<BillingOptions> options, TimeProvider timeProvider)
    : IBillingTransport
{
    private static readonly TimeSpan LagInterval = TimeSpan.FromSeconds(1);

    private readonly BillingOptions _options = options.Value;
    private readonly RedisKey[] _keys =
    [
        options.Value.Redis.InputStream,
        options.Value.Redis.BillingOutcomesStream,
        options.Value.Redis.OutcomesStream,
        options.Value.Redis.EventsStream,
        options.Value.Redis.DeadLetterStream,
    ];

    private readonly string _consumerName = string.IsNullOrWhiteSpace(options.Value.Redis.ConsumerName)
        ? Environment.MachineName
        : options.Value.Redis.ConsumerName;

    private RedisValue _pendingCursor;
    private bool _readingOwnPending;
    private RedisValue _claimCursor = "0-0";
    private DateTimeOffset _nextClaim;
    private DateTimeOffset _nextLag;
    private long _lag = -1;
    private volatile bool _joined;

    public string System => "redis";

    public string InputName => _options.Redis.InputStream;

    public string ConsumerGroup => _options.Redis.ConsumerGroup;

    public string ConsumerName => _consumerName;

    public long? Lag => Volatile.Read(ref _lag) is var lag and >= 0 ? lag : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var db = await redis.GetDatabaseAsync(cancellationToken);
        try
        {
            await db.StreamCreateConsumerGroupAsync(_keys[RedisCommitScript.InputKey], ConsumerGroup,
                _options.Redis.GroupStartId, createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }

        // Whatever this consumer read and did not commit (before a crash or a failed commit) comes first.
        _readingOwnPending = true;
        _pendingCursor = "0-0";
        _nextClaim = timeProvider.GetUtcNow();
        _joined = true;
    }

    public async Task<IReadOnlyList<InputMessage>> ReadBatchAsync(CancellationToken cancellationToken)
    {
        var db = await redis.GetDatabaseAsync(cancellationToken);
        var input = _keys[RedisCommitScript.InputKey];
        var count = _options.BatchSize;
        var now = timeProvider.GetUtcNow();
        await ObserveLagAsync(db, now);

        if (now >= _nextClaim)
        {
            var claimed = await db.StreamAutoClaimAsync(input, ConsumerGroup, _consumerName,
                (long)_options.Redis.ClaimMinIdle.TotalMilliseconds, _claimCursor, count);
            _claimCursor = claimed.NextStartId;
            if (_claimCursor == "0-0")
            {
                _nextClaim = now + _options.Redis.ClaimMinIdle / 2;
            }

            if (claimed.ClaimedEntries.Length > 0)
            {
                return ToMessages(claimed.ClaimedEntries);
            }
        }

        if (_readingOwnPending)
        {
            var pending = await db.StreamReadGroupAsync(input, ConsumerGroup, _consumerName, _pendingCursor, count);
            if (pending.Length > 0)
            {
                _pendingCursor = pending[^1].Id;
                return ToMessages(pending);
            }

            _readingOwnPending = false;
        }

        var entries = await db.StreamReadGroupAsync(input, ConsumerGroup, _consumerName, StreamPosition.NewMessages, count);
        if (entries.Length == 0)
        {
            // StackExchange.Redis cannot block on XREADGROUP (it would stall the shared connection): poll instead.
            await Task.Delay(_options.MaxBatchWait, timeProvider, cancellationToken);
            return [];
        }

        return ToMessages(entries);
    }

    public async Task<IReadOnlyList<bool>> CommitAsync(IReadOnlyList<InputMessage> inputs, IReadOnlyList<OutboundMessage> outputs,
        CancellationToken cancellationToken)
    {
        var db = await redis.GetDatabaseAsync(cancellationToken);
        var result = (string?)await db.ScriptEvaluateAsync(RedisCommitScript.Source, _keys,
            RedisCommitScript.Arguments(ConsumerGroup, inputs, outputs));
        if (result is null || result.Length != inputs.Count)
        {
            throw new InvalidOperationException($"the commit script answered '{result}' for {inputs.Count} inputs");
        }

        var committed = new bool[inputs.Count];
        for (var i = 0; i < committed.Length; i++)
        {
            committed[i] = result[i] == '1';
        }

        return committed;
    }

    public async Task<bool> IsCommittedAsync(string inputId, CancellationToken cancellationToken)
    {
        var db = await redis.GetDatabaseAsync(cancellationToken);
        var pending = await db.StreamPendingMessagesAsync(_keys[RedisCommitScript.InputKey], ConsumerGroup, 1,
            RedisValue.Null, inputId, inputId);
        return pending.Length == 0;
    }

    /// <summary>Ready when this consumer started on its group and Redis lists that group on the input stream (XINFO GROUPS).</summary>
    public async Task<TransportReadiness> CheckReadinessAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_joined)
        {
            return new("the consumer has not joined its group on Redis yet");
        }

        try
        {
            var db = await redis.GetDatabaseAsync(cancellationToken).AsTask().WaitAsync(timeout, cancellationToken);
            var groups = await db.StreamGroupInfoAsync(_keys[RedisCommitScript.InputKey]).WaitAsync(timeout, cancellationToken);
            return groups.Any(g => g.Name == ConsumerGroup)
                ? TransportReadiness.Ready
                : new($"the consumer group '{ConsumerGroup}' does not exist on the input stream");
        }
        catch (RedisServerException ex)
        {
            // Answered, but no such stream (deleted since the start) or not a stream.
            return new($"the input stream cannot be read: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new("the billing Redis does not answer", ex);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task ObserveLagAsync(IDatabase db, DateTimeOffset now)
    {
        if (now < _nextLag)
        {
            return;
        }

        _nextLag = now + LagInterval;
        foreach (var group in await db.StreamGroupInfoAsync(_keys[RedisCommitScript.InputKey]))
        {
            if (group.Name == ConsumerGroup)
            {
                // XINFO's lag counts entries not yet delivered; add the delivered but unacknowledged ones.
                Volatile.Write(ref _lag, (group.Lag ?? 0) + group.PendingMessageCount);
            }
        }
    }

    private static InputMessage[] ToMessages(StreamEntry[] entries)
    {
        var messages = new InputMessage[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            // An entry without a payload field (or deleted while pending) is an empty message: it is dead-lettered.
            var payload = entries[i].IsNull ? RedisValue.Null : entries[i][StreamFields.Payload];
            messages[i] = new InputMessage(entries[i].Id!, payload.IsNull ? ReadOnlyMemory<byte>.Empty : (byte[])payload!);
        }

        return messages;
    }
}
