namespace Proxy.Mailbox;

/// <summary>
/// The Lua scripts of <see cref="RedisMailboxStore"/>. Each touches the keys of ONE mailbox (one hash tag, so one
/// Redis Cluster slot) or of the global index (its own tag); none crosses slots. Lease values are
/// <c>token|expiresAtMs</c>, compared with the caller's clock so that the lease follows the app's TimeProvider.
/// </summary>
internal static class RedisMailboxScripts
{
    /// <summary>Fields stored per entry in <see cref="Append"/>'s ARGV, in order.</summary>
    public const int AppendWidth = 11;

    /// <summary>KEYS: seq, then (queue, entry) per entry. ARGV: 11 fields per entry. All or none: checks before writing.</summary>
    public const string Append = """
        local n = (#KEYS - 1) / 2
        for i = 1, n do
          if redis.call('EXISTS', KEYS[2 * i + 1]) == 1 then
            return redis.error_reply('ERR duplicate delivery id ' .. ARGV[(i - 1) * 11 + 1])
          end
        end
        for i = 1, n do
          local a = (i - 1) * 11
          local seq = redis.call('INCR', KEYS[1])
          redis.call('HSET', KEYS[2 * i + 1], 'id', ARGV[a + 1], 'm', ARGV[a + 2], 'r', ARGV[a + 3], 'mt', ARGV[a + 4],
            'p', ARGV[a + 5], 'h', ARGV[a + 6], 'b', ARGV[a + 7], 'ra', ARGV[a + 8], 'n', ARGV[a + 9], 'tp', ARGV[a + 10],
            'a', ARGV[a + 11], 's', seq)
          redis.call('ZADD', KEYS[2 * i], seq, ARGV[a + 1])
        end
        return n
        """;

    /// <summary>
    /// KEYS: lease, queue. ARGV: token, leaseMs, nowMs, entryPrefix.
    /// Returns {0, expiresAt} leased by another, {1, 0} empty, {2, nextAttemptAt} head not due, {3, expiresAt} claimed.
    /// </summary>
    public const string Claim = """
        local now = tonumber(ARGV[3])
        local current = redis.call('GET', KEYS[1])
        if current then
          local expires = tonumber(string.sub(current, string.find(current, '|', 1, true) + 1))
          if expires > now then return {0, expires} end
        end
        local head = redis.call('ZRANGE', KEYS[2], 0, 0)
        if #head == 0 then return {1, 0} end
        local next_attempt = tonumber(redis.call('HGET', ARGV[4] .. head[1], 'n'))
        if next_attempt > now then return {2, next_attempt} end
        local expires = now + tonumber(ARGV[2])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. expires)
        return {3, expires}
        """;

    /// <summary>KEYS: lease. ARGV: token, expiresAtMs. 1 when still ours.</summary>
    public const string Renew = """
        local current = redis.call('GET', KEYS[1])
        if current and string.sub(current, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
          redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS: lease, queue. ARGV: token, entryPrefix. Returns the head's next attempt, -1 when empty, -2 when the lease was not ours.</summary>
    public const string Release = """
        local current = redis.call('GET', KEYS[1])
        if not current or string.sub(current, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return -2 end
        redis.call('DEL', KEYS[1])
        local head = redis.call('ZRANGE', KEYS[2], 0, 0)
        if #head == 0 then return -1 end
        return tonumber(redis.call('HGET', ARGV[2] .. head[1], 'n'))
        """;

    /// <summary>
    /// KEYS: a sorted set of delivery ids (a lane, or a mailbox's dead set). ARGV: count, entryPrefix.
    /// The first entries of the set as HGETALL arrays.
    /// </summary>
    public const string RangeEntries = """
        local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
        local entries = {}
        for i, id in ipairs(ids) do entries[i] = redis.call('HGETALL', ARGV[2] .. id) end
        return entries
        """;

    /// <summary>
    /// KEYS: lease, queue, entry. ARGV: token, id, instantMs, mode ('r' = attempts + 1 and next = instant,
    /// 'p' = next = max(next, instant)). 1 when done, 0 when the lease is not ours or the entry left the lane.
    /// </summary>
    public const string UpdateLeasedEntry = """
        local current = redis.call('GET', KEYS[1])
        if not current or string.sub(current, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return 0 end
        if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
        if ARGV[4] == 'r' then
          redis.call('HINCRBY', KEYS[3], 'a', 1)
          redis.call('HSET', KEYS[3], 'n', ARGV[3])
        elseif tonumber(ARGV[3]) > tonumber(redis.call('HGET', KEYS[3], 'n')) then
          redis.call('HSET', KEYS[3], 'n', ARGV[3])
        end
        return 1
        """;

    /// <summary>KEYS: queue, entry. ARGV: id.</summary>
    public const string Ack = """
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
          redis.call('DEL', KEYS[2])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS: queue, entry, dead set. ARGV: id, reason, status, error, deadAtMs.</summary>
    public const string DeadLetter = """
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[2], 'dr', ARGV[2], 'ds', ARGV[3], 'de', ARGV[4], 'dt', ARGV[5])
        redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
        return 1
        """;

    /// <summary>KEYS: global dead index, global id-to-mailbox hash. ARGV: id, deadAtMs, mailbox.</summary>
    public const string IndexDeadLetter = """
        redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
        redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
        return 1
        """;

    /// <summary>KEYS: global dead index, global id-to-mailbox hash. ARGV: id.</summary>
    public const string UnindexDeadLetter = """
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('HDEL', KEYS[2], ARGV[1])
        return 1
        """;

    /// <summary>KEYS: entry. The entry as an HGETALL array when it is a dead letter, else an empty array.</summary>
    public const string GetDead = """
        if redis.call('HEXISTS', KEYS[1], 'dr') == 0 then return {} end
        return redis.call('HGETALL', KEYS[1])
        """;

    /// <summary>KEYS: dead set, entry, seq. ARGV: id, nowMs, queuePrefix. Returns the region, or nil when it was no dead letter.</summary>
    public const string Replay = """
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return false end
        local region = redis.call('HGET', KEYS[2], 'r')
        local seq = redis.call('INCR', KEYS[3])
        redis.call('HDEL', KEYS[2], 'dr', 'ds', 'de', 'dt')
        redis.call('HSET', KEYS[2], 'a', 0, 'n', ARGV[2], 's', seq)
        redis.call('ZADD', ARGV[3] .. region, seq, ARGV[1])
        return region
        """;

    /// <summary>KEYS: dead set, entry. ARGV: id.</summary>
    public const string Purge = """
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
          redis.call('DEL', KEYS[2])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS: queue. ARGV: entryPrefix. Returns {depth, receivedAt, attempts, nextAttemptAt} of the head, or {0}.</summary>
    public const string Summary = """
        local depth = redis.call('ZCARD', KEYS[1])
        if depth == 0 then return {0} end
        local head = redis.call('ZRANGE', KEYS[1], 0, 0)
        local f = redis.call('HMGET', ARGV[1] .. head[1], 'ra', 'a', 'n')
        return {depth, tonumber(f[1]), tonumber(f[2]), tonumber(f[3])}
        """;
}
