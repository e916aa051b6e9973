using Microsoft.Extensions.Caching.Distributed;

namespace Proxy.Routing.Regions.Caching;

/// <summary>
/// The Redis cache as HybridCache's second level, behind the <see cref="RedisBreaker"/>. HybridCache awaits the
/// second-level read before it calls the factory and waits as long as that read takes (a failure it treats as a miss),
/// so every call here is bounded: a read that fails, times out or is skipped is a miss, a write is dropped.
/// </summary>
internal sealed class GuardedDistributedCache(IDistributedCache redis, RedisBreaker breaker) : IDistributedCache
{
    /// <summary>
    /// HybridCache keeps tag invalidation times under this key prefix. For those a failed read must fail: HybridCache
    /// then takes the tag as invalidated now (entries older than that are re-read), where a miss would mean "never
    /// invalidated" and let a stale shared entry through.
    /// </summary>
    private const string TagKeyPrefix = "__MSFT_HCT__";

    public byte[]? Get(string key) => breaker.Run("get", () => redis.Get(key), null);

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        var missing = new Missing();
        var value = await breaker.RunAsync<object?>("get", async t => await redis.GetAsync(key, t).ConfigureAwait(false), missing, token)
            .ConfigureAwait(false);
        if (ReferenceEquals(value, missing))
        {
            return key.StartsWith(TagKeyPrefix, StringComparison.Ordinal)
                ? throw new TimeoutException("Redis is being skipped after a failure")
                : null;
        }

        return (byte[]?)value;
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
        => breaker.Run("set", () =>
        {
            redis.Set(key, value, options);
            return true;
        }, false);

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => breaker.RunAsync("set", t => redis.SetAsync(key, value, options, t), token);

    public void Refresh(string key) => breaker.Run("refresh", () =>
    {
        redis.Refresh(key);
        return true;
    }, false);

    public Task RefreshAsync(string key, CancellationToken token = default)
        => breaker.RunAsync("refresh", t => redis.RefreshAsync(key, t), token);

    public void Remove(string key) => breaker.Run("remove", () =>
    {
        redis.Remove(key);
        return true;
    }, false);

    public Task RemoveAsync(string key, CancellationToken token = default)
        => breaker.RunAsync("remove", t => redis.RemoveAsync(key, t), token);

    /// <summary>Tells a skipped or failed read apart from a real miss.</summary>
    private sealed class Missing;
}
