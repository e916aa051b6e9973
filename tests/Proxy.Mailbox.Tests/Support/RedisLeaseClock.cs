using StackExchange.Redis;

namespace Proxy.Mailbox.Tests;

/// <summary>
/// Lets the store's clock pass for the leases under one key prefix: Redis cannot be told the time, so each lease key's
/// remaining expiry is shortened by the time that passed (and the key deleted when none is left), as Redis itself
/// would have done had that much time gone by.
/// </summary>
internal static class RedisLeaseClock
{
    public static async Task AdvanceAsync(IConnectionMultiplexer redis, string prefix, TimeSpan elapsed)
    {
        var db = redis.GetDatabase();
        foreach (var server in redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: $"{prefix}:{{*}}:l:*"))
            {
                var left = await db.KeyTimeToLiveAsync(key);
                if (left is null)
                {
                    continue;
                }

                var remaining = left.Value - elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    await db.KeyDeleteAsync(key);
                }
                else
                {
                    await db.KeyExpireAsync(key, remaining);
                }
            }
        }
    }
}
