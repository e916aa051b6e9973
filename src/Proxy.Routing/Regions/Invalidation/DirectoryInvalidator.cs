using System.Text.Json;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Regions.Caching;
using Proxy.Routing.Regions.Control;
using StackExchange.Redis;

namespace Proxy.Routing.Regions.Invalidation;

/// <summary>
/// Drops directory answers from every replica: from this replica's memory and from Redis (HybridCache tags), then
/// through a Redis channel every replica subscribes to, so each one drops its own memory copies at once. Without
/// Redis, only this replica's memory is dropped.
/// </summary>
internal sealed partial class DirectoryInvalidator(
    HybridCache cache,
    IOptions<RedisOptions> redisOptions,
    SharedRedisConnection? redis,
    RedisBreaker? breaker,
    ILogger<DirectoryInvalidator> logger)
{
    public static readonly RedisChannel Channel = RedisChannel.Literal("edge-proxy:directory:invalidate");

    private static readonly HybridCacheEntryOptions s_peek = new()
    {
        Flags = HybridCacheEntryFlags.DisableUnderlyingData | HybridCacheEntryFlags.DisableLocalCacheWrite
            | HybridCacheEntryFlags.DisableDistributedCacheWrite,
    };

    private long _received;

    /// <summary>This replica's id in published messages, so that it does not apply its own twice.</summary>
    public string Origin { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Invalidations received from other replicas and applied here.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Drops the answers and tells the other replicas; true in <c>Published</c> when the message went out.</summary>
    public async Task<(IReadOnlyList<string> Tags, bool Published)> InvalidateAsync(DirectoryInvalidation what,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(what);
        var tags = await TagsAsync(what, cancellationToken);
        await cache.RemoveByTagAsync(tags, cancellationToken);
        var published = await PublishAsync(tags, cancellationToken);
        LogInvalidated(logger, tags, published);
        return (tags, published);
    }

    /// <summary>A message from the channel: drop this replica's copies (and, harmlessly, stamp the tags in Redis again).</summary>
    public async Task ApplyAsync(RedisValue message)
    {
        InvalidationMessage? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize((string)message!, InvalidationJsonContext.Default.InvalidationMessage);
        }
        catch (JsonException ex)
        {
            LogBadMessage(logger, ex);
            return;
        }

        if (parsed is null || parsed.Origin == Origin || parsed.Tags is not { Count: > 0 })
        {
            return;
        }

        try
        {
            await cache.RemoveByTagAsync(parsed.Tags);
            Interlocked.Increment(ref _received);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogApplyFailed(logger, ex);
        }
    }

    private async Task<string[]> TagsAsync(DirectoryInvalidation what, CancellationToken cancellationToken)
    {
        switch (what)
        {
            case DirectoryInvalidation.ExternalIntegration external:
                // The answer by integration id is stale too: find the id in the cached answer, if there is one.
                var cached = await cache.GetOrCreateAsync<RegionResolution?>(
                    DirectoryCacheTags.ExternalKey(external.Provider, external.ExternalId),
                    static _ => ValueTask.FromResult<RegionResolution?>(null), s_peek, cancellationToken: cancellationToken);
                var tag = DirectoryCacheTags.External(external.Provider, external.ExternalId);
                return cached?.IntegrationId is { } id ? [tag, DirectoryCacheTags.Integration(id)] : [tag];
            case DirectoryInvalidation.IntegrationId byId:
                return [DirectoryCacheTags.Integration(byId.Id)];
            case DirectoryInvalidation.Organization organization:
                return [DirectoryCacheTags.Organization(organization.Id)];
            default:
                throw new ArgumentException($"unsupported invalidation {what}", nameof(what));
        }
    }

    private async Task<bool> PublishAsync(string[] tags, CancellationToken cancellationToken)
    {
        if (!redisOptions.Value.Enabled || redis is null || breaker is null)
        {
            return false;
        }

        var message = JsonSerializer.Serialize(new InvalidationMessage(Origin, tags), InvalidationJsonContext.Default.InvalidationMessage);
        var receivers = await breaker.RunAsync("publish", async _ =>
        {
            var connection = await redis.GetAsync().ConfigureAwait(false);
            return await connection.GetSubscriber().PublishAsync(Channel, message).ConfigureAwait(false);
        }, -1L, cancellationToken);
        return receivers >= 0;
    }

    [LoggerMessage(EventId = 230, Level = LogLevel.Information, Message = "Directory cache invalidated: {Tags} (other replicas told: {Published})")]
    private static partial void LogInvalidated(ILogger logger, string[] tags, bool published);

    [LoggerMessage(EventId = 231, Level = LogLevel.Warning, Message = "Ignored a malformed directory invalidation message")]
    private static partial void LogBadMessage(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 232, Level = LogLevel.Warning, Message = "Could not apply a directory invalidation from another replica")]
    private static partial void LogApplyFailed(ILogger logger, Exception exception);
}
