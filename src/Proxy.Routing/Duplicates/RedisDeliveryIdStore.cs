using Proxy.Routing.Regions.Caching;
using StackExchange.Redis;

namespace Proxy.Routing.Duplicates;

/// <summary>
/// Delivery ids in the routing's Redis, shared by every replica: a claim is <c>SET key token NX PX window</c>, a
/// release deletes the key only while it still holds the token. Every call goes through the <see cref="RedisBreaker"/>
/// of the directory cache, so a Redis that is slow or down costs one short timeout, then is skipped: the webhook is
/// delivered unchecked.
/// </summary>
internal sealed class RedisDeliveryIdStore(SharedRedisConnection redis, RedisBreaker breaker) : IDeliveryIdStore
{
    public const string KeyPrefix = "edge-proxy:dedup:";

    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

    public string Kind => "redis";

    public async ValueTask<DeliveryClaim> TryClaimAsync(string key, TimeSpan window, CancellationToken cancellationToken)
        => await breaker.RunAsync("dedup claim", async _ =>
        {
            var database = (await redis.GetAsync().ConfigureAwait(false)).GetDatabase();
            var claim = DeliveryClaim.NewClaim();
            return await database.StringSetAsync(KeyPrefix + key, claim.Token, window, When.NotExists).ConfigureAwait(false)
                ? claim
                : DeliveryClaim.Duplicate;
        }, DeliveryClaim.Unavailable, cancellationToken).ConfigureAwait(false);

    public async ValueTask ReleaseAsync(string key, string token, CancellationToken cancellationToken)
        => await breaker.RunAsync("dedup release", async _ =>
        {
            var database = (await redis.GetAsync().ConfigureAwait(false)).GetDatabase();
            await database.ScriptEvaluateAsync(ReleaseScript, [(RedisKey)(KeyPrefix + key)], [token]).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
}
