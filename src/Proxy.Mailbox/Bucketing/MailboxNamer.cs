using System.Collections.Concurrent;
using System.Globalization;
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
/// Both keys share a hash tag, so the script runs in one slot.
/// </summary>
internal sealed class RedisWebhookRateCounter(IConnectionMultiplexer redis, string keyPrefix) : IWebhookRateCounter
{
    private const string Script = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('EXPIRE', KEYS[1], 3700) end
        if count > tonumber(ARGV[1]) then
          redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
          return 1
        end
        return redis.call('EXISTS', KEYS[2])
        """;

    public async ValueTask<bool> CountAsync(string integration, DateTimeOffset now, MailboxBucketingOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var hour = now.ToUnixTimeSeconds() / 3600;
        var tag = $"{keyPrefix}:rate:{{{integration}}}";
        var result = await redis.GetDatabase().ScriptEvaluateAsync(Script,
            [$"{tag}:{hour}", $"{tag}:buckets"],
            [options.ThresholdPerHour, (long)TimeSpan.FromHours(options.DurationHours).TotalMilliseconds]).ConfigureAwait(false);
        return (int)result == 1;
    }
}
