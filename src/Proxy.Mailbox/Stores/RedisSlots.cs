using StackExchange.Redis;

namespace Proxy.Mailbox;

/// <summary>How a batch of grouped writes is split into script calls: one call on a single server, one per slot on a cluster.</summary>
internal static class RedisSlots
{
    /// <summary><paramref name="batch"/> as it is on a single server; on a cluster, grouped by the slot of each item's <paramref name="key"/>.</summary>
    public static List<List<T>> GroupBySlot<T>(IConnectionMultiplexer redis, List<T> batch, Func<T, RedisKey> key)
        => redis.GetServers().Any(s => s.ServerType == ServerType.Cluster)
            ? batch.GroupBy(item => redis.HashSlot(key(item))).Select(g => g.ToList()).ToList()
            : [batch];
}
