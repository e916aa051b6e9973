using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Mailbox;

/// <summary>Chooses the mailbox of a webhook (reference §2.10): one per integration, split into buckets while it is busy.</summary>
internal interface IMailboxNamer
{
    /// <summary>
    /// Counts this webhook against its integration's hourly rate and returns <c>provider:identifier</c>, or
    /// <c>provider:identifier:{bucketId % Buckets}</c> while the integration is bucketed (from the moment it passes
    /// <c>ThresholdPerHour</c> until <c>DurationHours</c> after the last time it did). A null bucket id never buckets.
    /// </summary>
    ValueTask<string> MailboxForAsync(string provider, string identifier, long? bucketId, CancellationToken cancellationToken = default);
}

/// <summary>Counts webhooks per integration per hour and remembers which integrations are bucketed.</summary>
internal interface IWebhookRateCounter
{
    /// <summary>Counts one webhook; true when the integration is bucketed after this one.</summary>
    ValueTask<bool> CountAsync(string integration, DateTimeOffset now, MailboxBucketingOptions options, CancellationToken cancellationToken);
}

internal sealed partial class MailboxNamer(
    IWebhookRateCounter counter,
    MailboxMetrics metrics,
    IOptionsMonitor<MailboxOptions> options,
    TimeProvider time,
    ILogger<MailboxNamer> logger) : IMailboxNamer
{
    public async ValueTask<string> MailboxForAsync(string provider, string identifier, long? bucketId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        var settings = options.CurrentValue.Bucketing;
        var name = provider + ":" + identifier;
        var bucketed = false;
        if (settings.Enabled)
        {
            try
            {
                bucketed = await counter.CountAsync(name, time.GetUtcNow(), settings, cancellationToken).ConfigureAwait(false);
            }
            catch (RedisException ex)
            {
                // Naming only spreads load: a webhook is still accepted, unbucketed, while the counter is unreachable.
                Log.CounterFailed(logger, name, ex);
            }
        }

        var useBucket = bucketed && bucketId is not null;
        metrics.Routed(provider, useBucket);
        return useBucket ? name + ":" + Math.Abs(bucketId!.Value % settings.Buckets).ToString(CultureInfo.InvariantCulture) : name;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not count webhooks of {Integration}; its mailbox is not bucketed")]
        public static partial void CounterFailed(ILogger logger, string integration, Exception exception);
    }
}

/// <summary>One replica's own counts (no Redis): each replica decides from the traffic it sees.</summary>
internal sealed class MemoryWebhookRateCounter : IWebhookRateCounter
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    public ValueTask<bool> CountAsync(string integration, DateTimeOffset now, MailboxBucketingOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var hour = now.ToUnixTimeSeconds() / 3600;
        var window = _windows.GetOrAdd(integration, _ => new Window());
        bool bucketed;
        lock (window)
        {
            if (window.Hour != hour)
            {
                window.Hour = hour;
                window.Count = 0;
            }

            window.Count++;
            if (window.Count > options.ThresholdPerHour)
            {
                window.BucketedUntil = now + TimeSpan.FromHours(options.DurationHours);
            }

            bucketed = window.BucketedUntil > now;
        }

        if (_windows.Count > PruneAbove)
        {
            foreach (var (key, old) in _windows)
            {
                if (old.Hour < hour && old.BucketedUntil <= now)
                {
                    _windows.TryRemove(key, out _);
                }
            }
        }

        return ValueTask.FromResult(bucketed);
    }

    private sealed class Window
    {
        public long Hour;
        public int Count;
        public DateTimeOffset BucketedUntil;
    }
}

/// <summary>
/// Counts shared by every replica: <c>P:rate:{integration}:HOUR</c> (INCR, expires after the hour) and the flag
/// <c>P:rate:{integration}:buckets</c> (set for the bucketing duration whenever the count passes the threshold).
/// Both keys share a hash tag, so one integration's count runs in one slot.
/// <para>
/// Counts are grouped as appends are: every count queued while the previous call was out goes in the next script
/// call (one per slot on a cluster), which applies them one after another and answers each with its own result, so
/// the counts stay exact and shared, with one Redis call per batch instead of one per webhook.
/// </para>
/// </summary>
internal sealed class RedisWebhookRateCounter : IWebhookRateCounter
{
    /// <summary>Counts one call takes at most; the rest go in the next call, which starts at once.</summary>
    public const int MaxCountsPerCall = 256;

    // KEYS: the hour's count and the flag of each webhook, in pairs; ARGV: its threshold and flag lifetime (ms), in pairs.
    private const string Script = """
        local results = {}
        for i = 1, #KEYS, 2 do
          local count = redis.call('INCR', KEYS[i])
          if count == 1 then redis.call('EXPIRE', KEYS[i], 3700) end
          if count > tonumber(ARGV[i]) then
            redis.call('SET', KEYS[i + 1], '1', 'PX', ARGV[i + 1])
            results[#results + 1] = 1
          else
            results[#results + 1] = redis.call('EXISTS', KEYS[i + 1])
          end
        end
        return results
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly string _keyPrefix;
    private readonly Channel<PendingCount> _counts = Channel.CreateUnbounded<PendingCount>(new UnboundedChannelOptions { SingleReader = true });
    private long _calls;

    public RedisWebhookRateCounter(IConnectionMultiplexer redis, string keyPrefix)
    {
        _redis = redis;
        _keyPrefix = keyPrefix;
        _ = Task.Run(CountLoopAsync);
    }

    /// <summary>Script calls made so far (each carries one or more counts).</summary>
    internal long Calls => Interlocked.Read(ref _calls);

    public ValueTask<bool> CountAsync(string integration, DateTimeOffset now, MailboxBucketingOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var hour = now.ToUnixTimeSeconds() / 3600;
        var tag = $"{_keyPrefix}:rate:{{{integration}}}";
        var pending = new PendingCount($"{tag}:{hour}", $"{tag}:buckets", options.ThresholdPerHour,
            (long)TimeSpan.FromHours(options.DurationHours).TotalMilliseconds);
        _counts.Writer.TryWrite(pending);
        return new ValueTask<bool>(pending.Done.Task);
    }

    private async Task CountLoopAsync()
    {
        var reader = _counts.Reader;
        var batch = new List<PendingCount>(MaxCountsPerCall);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxCountsPerCall && reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                await Task.WhenAll(RedisSlots.GroupBySlot(_redis, batch, p => p.CountKey).Select(CallAsync)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Whoever is not answered yet hears the failure (the loop lives on for the next counts).
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }

    private async Task CallAsync(List<PendingCount> group)
    {
        var keys = new RedisKey[group.Count * 2];
        var args = new RedisValue[group.Count * 2];
        for (var i = 0; i < group.Count; i++)
        {
            keys[2 * i] = group[i].CountKey;
            keys[(2 * i) + 1] = group[i].FlagKey;
            args[2 * i] = group[i].Threshold;
            args[(2 * i) + 1] = group[i].FlagMilliseconds;
        }

        Interlocked.Increment(ref _calls);
        try
        {
            var results = (RedisResult[])(await _redis.GetDatabase().ScriptEvaluateAsync(Script, keys, args).ConfigureAwait(false))!;
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Done.TrySetResult((int)results[i] == 1);
            }
        }
        catch (Exception ex)
        {
            foreach (var pending in group)
            {
                pending.Done.TrySetException(ex);
            }
        }
    }

    private sealed class PendingCount(string countKey, string flagKey, long threshold, long flagMilliseconds)
    {
        public string CountKey { get; } = countKey;

        public string FlagKey { get; } = flagKey;

        public long Threshold { get; } = threshold;

        public long FlagMilliseconds { get; } = flagMilliseconds;

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
