namespace Proxy.Mailbox;

/// <summary>
/// The Lua scripts of <see cref="RedisMailboxStore"/>. Each touches the keys of ONE mailbox (one hash tag, so one
/// Redis Cluster slot) or of the global index (its own tag); none crosses slots.
/// <para>
/// A lease is a key that Redis expires itself (<c>SET ... PX</c>), so it runs out on the store's clock and replicas
/// need not agree on the time. Its value is <c>token|expiresAtMs</c>: the token fences the holder's writes; the instant
/// is the holder's own estimate, kept only so that a lease written without an expiry (by a version before leases
/// expired in Redis) is still honoured and then handed to Redis's expiry.
/// </para>
/// <para>
/// Scripts that reach a lane's ids check each entry they are about to use (<see cref="Soundness"/>). An id whose entry
/// hash is gone (eviction, an operator's DEL) is taken out of the lane ("missing"); an entry with a field absent or
/// unreadable becomes a dead letter with reason "damaged". Either way the script returns the id and the reason as
/// pairs after its own result, so the caller can count, log and index them, and the lane moves on to its next entry.
/// </para>
/// <para>
/// <c>P:{m}:w:REGION</c>, the lane's waiting set, holds the ids of the lane's entries in backoff by their next attempt
/// (written with each reschedule or postpone, taken out when the entry leaves the lane). It lets a due-head lane tell
/// when it is next due, and lets an operator's retry-now find the waiting entries, without reading every entry.
/// </para>
/// </summary>
internal static class RedisMailboxScripts
{
    /// <summary>Fields stored per entry in <see cref="Append"/>'s ARGV, in order.</summary>
    public const int AppendWidth = 11;

    /// <summary>
    /// Lua shared by the scripts that reach a lane's ids. <c>unsound(key)</c> is nil for an entry that can be read and
    /// delivered, else <c>'missing'</c> or <c>'damaged'</c>; <c>quarantine</c> takes such an id out of its lane;
    /// <c>first_sound</c> quarantines from the head until a sound entry (its id) or the end of the lane (nil), at most
    /// <see cref="QuarantineLimit"/> ids a call, after which it answers <c>false</c> (look again later).
    /// The context table <c>q</c> holds queue, dead, prefix, now, mailbox, region and the list of quarantined pairs.
    /// </summary>
    private const string Soundness = """
        local function unwait(q, id)
          if q.wait then redis.call('ZREM', q.wait, id) end
        end
        local function whole_in(v, low, high)
          local x = tonumber(v)
          return x ~= nil and x == math.floor(x) and x >= low and x <= high
        end
        local function judge(f)
          for i = 1, 7 do if not f[i] then return 'damaged' end end
          if not (whole_in(f[8], -62135596800000, 253402300799999) and whole_in(f[9], -62135596800000, 253402300799999)
            and whole_in(f[10], 0, 2147483647)) then return 'damaged' end
          local ok, headers = pcall(cjson.decode, f[6])
          if not ok or type(headers) ~= 'table' then return 'damaged' end
          for _, pair in ipairs(headers) do
            if type(pair) ~= 'table' or type(pair[1]) ~= 'string' or type(pair[2]) ~= 'string' then return 'damaged' end
          end
          return nil
        end
        local function unsound(key)
          if redis.call('TYPE', key).ok ~= 'hash' then return 'missing' end
          local f = redis.call('HMGET', key, 'id', 'm', 'r', 'mt', 'p', 'h', 'b', 'ra', 'n', 'a', 'wk')
          if f[11] then
            local shared = redis.call('HMGET', f[11], 'h', 'b')
            f[6] = shared[1]
            f[7] = shared[2]
          end
          return judge(f)
        end
        -- One HGETALL for what a peek both checks and returns: the reason (nil when sound), the entry as read_entry
        -- returns it, and its fields by name.
        local function read_sound(key)
          local all = redis.pcall('HGETALL', key)
          if type(all) ~= 'table' or all.err or #all == 0 then return 'missing' end
          local m = {}
          for i = 1, #all, 2 do m[all[i]] = all[i + 1] end
          if m.wk then
            local shared = redis.call('HMGET', m.wk, 'h', 'b')
            m.h = shared[1]
            m.b = shared[2]
            if shared[1] then all[#all + 1] = 'h'; all[#all + 1] = shared[1] end
            if shared[2] then all[#all + 1] = 'b'; all[#all + 1] = shared[2] end
          end
          return judge({m.id, m.m, m.r, m.mt, m.p, m.h, m.b, m.ra, m.n, m.a}), all, m
        end
        local function quarantine(q, id, why)
          local key = q.prefix .. id
          redis.call('ZREM', q.queue, id)
          unwait(q, id)
          if why == 'damaged' then
            redis.call('HSET', key, 'id', id, 'm', q.mailbox, 'r', q.region, 'dr', 'damaged', 'ds', '', 'de', '', 'dt', q.now)
            redis.call('ZADD', q.dead, q.now, id)
          end
          q.found[#q.found + 1] = id
          q.found[#q.found + 1] = why
        end
        local function first_sound(q)
          for _ = 1, 100 do
            local head = redis.call('ZRANGE', q.queue, 0, 0)
            if #head == 0 then return nil end
            local why = unsound(q.prefix .. head[1])
            if not why then return head[1] end
            quarantine(q, head[1], why)
          end
          return false
        end
        local function lane_due(q, head, due_head)
          local head_at = tonumber(redis.call('HGET', q.prefix .. head, 'n'))
          if not due_head or head_at <= q.now then return head_at end
          -- Due-head with the head waiting: due now when some entry is not waiting (appended or replayed entries are
          -- due at once), else when the earliest waiting entry is. Ids that left the lane are dropped on the way.
          for _ = 1, 100 do
            if redis.call('ZCARD', q.queue) > redis.call('ZCARD', q.wait) then return q.now end
            local first = redis.call('ZRANGE', q.wait, 0, 0, 'WITHSCORES')
            if #first == 0 then return q.now end
            if redis.call('ZSCORE', q.queue, first[1]) then return tonumber(first[2]) end
            redis.call('ZREM', q.wait, first[1])
          end
          return q.now
        end
        local function with_found(result, q)
          for _, v in ipairs(q.found) do result[#result + 1] = v end
          return result
        end

        """;

    /// <summary>
    /// Lua shared by the scripts that read or delete entries. A webhook for several regions keeps its headers and body
    /// once, in the hash <c>P:{m}:b:WEBHOOK</c> (fields <c>h</c>, <c>b</c> and <c>c</c>, the count of entries, live or dead,
    /// that refer to it); each entry names it in its field <c>wk</c> instead of holding <c>h</c> and <c>b</c>.
    /// <c>read_entry(key)</c> is the entry's HGETALL with the shared fields appended; <c>release_body(key)</c> drops the
    /// entry's reference and deletes the body with its last one.
    /// </summary>
    private const string Bodies = """
        local function read_entry(key)
          local all = redis.call('HGETALL', key)
          local wk = redis.call('HGET', key, 'wk')
          if wk then
            local shared = redis.call('HMGET', wk, 'h', 'b')
            if shared[1] then all[#all + 1] = 'h'; all[#all + 1] = shared[1] end
            if shared[2] then all[#all + 1] = 'b'; all[#all + 1] = shared[2] end
          end
          return all
        end
        local function release_body(key)
          local wk = redis.call('HGET', key, 'wk')
          if wk and redis.call('HINCRBY', wk, 'c', -1) <= 0 then redis.call('DEL', wk) end
        end

        """;

    /// <summary>Ids one script call takes out of a lane at most (the lane is looked at again on the next call).</summary>
    public const int QuarantineLimit = 100;

    /// <summary>
    /// Appends several webhooks in one call; each is all or none. Per webhook, KEYS: seq, body, then (queue, entry) per
    /// entry; ARGV: its entry count, shared ('1': one body hash for all its entries, '0': each entry keeps its own),
    /// headers, body, then <see cref="AppendWidth"/> fields per entry (headers and body unused when shared). Returns per
    /// webhook, in order, 1 when written or the error that refused it (a duplicate delivery id: checked before writing).
    /// Every key of one call must be in one slot for a cluster; a single server takes any keys. A shared body also names
    /// its entries' ids (field <c>e</c>, a JSON array), so that <see cref="ReleaseOrphanedBody"/> can tell when none of them is left.
    /// </summary>
    public const string Append = """
        local written = {}
        local k = 0
        local a = 0
        while a < #ARGV do
          local n = tonumber(ARGV[a + 1])
          local seq_key, body_key = KEYS[k + 1], KEYS[k + 2]
          local fields = a + 4
          local refused = false
          for i = 1, n do
            if redis.call('EXISTS', KEYS[k + 2 + 2 * i]) == 1 then
              refused = 'ERR duplicate delivery id ' .. ARGV[fields + (i - 1) * 11 + 1]
              break
            end
          end
          if refused then
            written[#written + 1] = refused
          else
            local shared = ARGV[a + 2] == '1'
            if shared then
              local ids = {}
              for i = 1, n do ids[i] = ARGV[fields + (i - 1) * 11 + 1] end
              redis.call('HSET', body_key, 'h', ARGV[a + 3], 'b', ARGV[a + 4], 'c', n, 'e', cjson.encode(ids))
            end
            for i = 1, n do
              local f = fields + (i - 1) * 11
              local seq = redis.call('INCR', seq_key)
              local key = KEYS[k + 2 + 2 * i]
              redis.call('HSET', key, 'id', ARGV[f + 1], 'm', ARGV[f + 2], 'r', ARGV[f + 3], 'mt', ARGV[f + 4],
                'p', ARGV[f + 5], 'ra', ARGV[f + 8], 'n', ARGV[f + 9], 'tp', ARGV[f + 10], 'a', ARGV[f + 11], 's', seq)
              if shared then
                redis.call('HSET', key, 'wk', body_key)
              else
                redis.call('HSET', key, 'h', ARGV[f + 6], 'b', ARGV[f + 7])
              end
              redis.call('ZADD', KEYS[k + 1 + 2 * i], seq, ARGV[f + 1])
            end
            written[#written + 1] = 1
          end
          k = k + 2 + 2 * n
          a = a + 4 + 11 * n
        end
        return written
        """;

    /// <summary>
    /// KEYS: lease, queue, mailbox dead set, waiting set. ARGV: token, leaseMs, nowMs, entryPrefix, mailbox, region,
    /// dueHead ('1': the lane is due when any entry is, '0': when its head is).
    /// Returns {0, msLeft} leased by another (msLeft on Redis's clock), {1, 0} empty, {2, nextAttemptAt} not due,
    /// {3, expiresAt} claimed (expiresAt = nowMs + leaseMs, the caller's estimate); quarantined pairs follow.
    /// </summary>
    public const string Claim = Soundness + """
        local now = tonumber(ARGV[3])
        local q = {queue = KEYS[2], dead = KEYS[3], wait = KEYS[4], prefix = ARGV[4], now = now, mailbox = ARGV[5], region = ARGV[6], found = {}}
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl == -1 then
          local current = redis.call('GET', KEYS[1])
          local bar = string.find(current, '|', 1, true)
          local expires = bar and tonumber(string.sub(current, bar + 1))
          if expires and expires > now then
            redis.call('PEXPIRE', KEYS[1], expires - now)
            return {0, expires - now}
          end
        elseif ttl > 0 then
          return {0, ttl}
        end
        local head = first_sound(q)
        if head == nil then return with_found({1, 0}, q) end
        if head == false then return with_found({2, now}, q) end
        local next_attempt = lane_due(q, head, ARGV[7] == '1')
        if next_attempt > now then return with_found({2, next_attempt}, q) end
        local expires = now + tonumber(ARGV[2])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. expires, 'PX', ARGV[2])
        return with_found({3, expires}, q)
        """;

    /// <summary>KEYS: lease. ARGV: token, leaseMs, expiresAtMs (the caller's estimate). 1 when still ours.</summary>
    public const string Renew = """
        local current = redis.call('GET', KEYS[1])
        if current and string.sub(current, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
          redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3], 'PX', ARGV[2])
          return 1
        end
        return 0
        """;

    /// <summary>
    /// KEYS: lease, queue, mailbox dead set, waiting set. ARGV: token, entryPrefix, nowMs, mailbox, region, dueHead.
    /// Returns {when the lane is next due} ({-1} when empty, {-2} when the lease was not ours, {nowMs} when the head is
    /// still to be found); quarantined pairs follow.
    /// </summary>
    public const string Release = Soundness + """
        local current = redis.call('GET', KEYS[1])
        if not current or string.sub(current, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return {-2} end
        redis.call('DEL', KEYS[1])
        local q = {queue = KEYS[2], dead = KEYS[3], wait = KEYS[4], prefix = ARGV[2], now = tonumber(ARGV[3]), mailbox = ARGV[4], region = ARGV[5], found = {}}
        local head = first_sound(q)
        if head == nil then return with_found({-1}, q) end
        if head == false then return with_found({q.now}, q) end
        return with_found({lane_due(q, head, ARGV[6] == '1')}, q)
        """;

    /// <summary>
    /// KEYS: queue, mailbox dead set, waiting set. ARGV: count, entryPrefix, nowMs, mailbox, region. Returns {entries, quarantined}:
    /// the first sound entries of the lane (at most count) as HGETALL arrays, and the pairs taken out on the way.
    /// </summary>
    public const string PeekLane = Soundness + """
        local q = {queue = KEYS[1], dead = KEYS[2], wait = KEYS[3], prefix = ARGV[2], now = tonumber(ARGV[3]), mailbox = ARGV[4], region = ARGV[5], found = {}}
        local entries = {}
        for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)) do
          local why, all = read_sound(ARGV[2] .. id)
          if why then quarantine(q, id, why) else entries[#entries + 1] = all end
        end
        return {entries, q.found}
        """;

    /// <summary>Ids a due-head peek looks at per call at most, looking past entries in backoff.</summary>
    public const int DueScanLimit = 10_000;

    /// <summary>
    /// KEYS: queue, mailbox dead set, waiting set. ARGV: count, entryPrefix, nowMs, mailbox, region, scanLimit.
    /// Returns {entries, quarantined}: the first sound entries of the lane that are due (next attempt at or before
    /// now), at most count, in lane order, looking at no more than scanLimit ids; entries in backoff are passed over.
    /// </summary>
    public const string PeekDue = Soundness + """
        local q = {queue = KEYS[1], dead = KEYS[2], wait = KEYS[3], prefix = ARGV[2], now = tonumber(ARGV[3]), mailbox = ARGV[4], region = ARGV[5], found = {}}
        local want = tonumber(ARGV[1])
        local limit = tonumber(ARGV[6])
        local entries = {}
        local start = 0
        local scanned = 0
        while #entries < want and scanned < limit do
          local ids = redis.call('ZRANGE', KEYS[1], start, start + 99)
          if #ids == 0 then break end
          local removed = 0
          for _, id in ipairs(ids) do
            scanned = scanned + 1
            local why, all, fields = read_sound(ARGV[2] .. id)
            local at = fields and tonumber(fields.n)
            if at == nil or at <= q.now then
              if why then
                quarantine(q, id, why)
                removed = removed + 1
              else
                entries[#entries + 1] = all
                if #entries == want then break end
              end
            end
          end
          start = start + #ids - removed
        end
        return {entries, q.found}
        """;

    /// <summary>
    /// KEYS: a mailbox's dead set. ARGV: count, entryPrefix.
    /// The first entries of the set as HGETALL arrays (empty for an id whose hash is gone).
    /// </summary>
    public const string RangeEntries = Bodies + """
        local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
        local entries = {}
        for i, id in ipairs(ids) do entries[i] = read_entry(ARGV[2] .. id) end
        return entries
        """;

    /// <summary>
    /// KEYS: lease, queue, entry, waiting set. ARGV: token, id, instantMs, mode ('r' = attempts + 1 and next = instant,
    /// 'p' = next = max(next, instant)). 1 when done, 0 when the lease is not ours, the entry left the lane or its hash
    /// is gone. The entry is (re)placed in the waiting set at its next attempt.
    /// </summary>
    public const string UpdateLeasedEntry = """
        local current = redis.call('GET', KEYS[1])
        if not current or string.sub(current, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return 0 end
        if not redis.call('ZSCORE', KEYS[2], ARGV[2]) or redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
        local next_at = tonumber(ARGV[3])
        if ARGV[4] == 'r' then
          local attempts = tonumber(redis.call('HGET', KEYS[3], 'a')) or 0
          redis.call('HSET', KEYS[3], 'a', attempts + 1, 'n', ARGV[3])
        else
          local current = tonumber(redis.call('HGET', KEYS[3], 'n')) or 0
          if next_at > current then redis.call('HSET', KEYS[3], 'n', ARGV[3]) else next_at = current end
        end
        redis.call('ZADD', KEYS[4], next_at, ARGV[2])
        return 1
        """;

    /// <summary>KEYS: queue, entry, waiting set. ARGV: id.</summary>
    public const string Ack = Bodies + """
        redis.call('ZREM', KEYS[3], ARGV[1])
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
          release_body(KEYS[2])
          redis.call('DEL', KEYS[2])
          return 1
        end
        return 0
        """;

    /// <summary>
    /// KEYS: queue, waiting set. ARGV: entryPrefix, then the ids. <see cref="Ack"/> for each id, in one call: a 1 per id
    /// that was in the lane (and is deleted now), a 0 per id that was not.
    /// </summary>
    public const string AckMany = Bodies + """
        local done = {}
        for i = 2, #ARGV do
          local id = ARGV[i]
          local key = ARGV[1] .. id
          redis.call('ZREM', KEYS[2], id)
          if redis.call('ZREM', KEYS[1], id) == 1 then
            release_body(key)
            redis.call('DEL', key)
            done[i - 1] = 1
          else
            done[i - 1] = 0
          end
        end
        return done
        """;

    /// <summary>KEYS: queue, entry, dead set, waiting set. ARGV: id, reason, status, error, deadAtMs. 0 when the id was not in the lane or its hash is gone.</summary>
    public const string DeadLetter = """
        redis.call('ZREM', KEYS[4], ARGV[1])
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
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
    public const string GetDead = Bodies + """
        if redis.call('HEXISTS', KEYS[1], 'dr') == 0 then return {} end
        return read_entry(KEYS[1])
        """;

    /// <summary>KEYS: dead set, entry, seq. ARGV: id, nowMs, queuePrefix. Returns the region, or nil when it was no dead letter (or has no region).</summary>
    public const string Replay = """
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
        local region = redis.call('HGET', KEYS[2], 'r')
        if not region or region == '' then return false end
        redis.call('ZREM', KEYS[1], ARGV[1])
        local seq = redis.call('INCR', KEYS[3])
        redis.call('HDEL', KEYS[2], 'dr', 'ds', 'de', 'dt')
        redis.call('HSET', KEYS[2], 'a', 0, 'n', ARGV[2], 's', seq)
        redis.call('ZADD', ARGV[3] .. region, seq, ARGV[1])
        return region
        """;

    /// <summary>KEYS: dead set, entry. ARGV: id.</summary>
    public const string Purge = Bodies + """
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
          release_body(KEYS[2])
          redis.call('DEL', KEYS[2])
          return 1
        end
        return 0
        """;

    /// <summary>
    /// KEYS: queue, mailbox dead set, waiting set. ARGV: entryPrefix, nowMs, mailbox, region. Returns {depth, receivedAt, attempts,
    /// nextAttemptAt} of the first sound entry, {depth, nil} when there is none to report; quarantined pairs follow.
    /// </summary>
    public const string Summary = Soundness + """
        local q = {queue = KEYS[1], dead = KEYS[2], wait = KEYS[3], prefix = ARGV[1], now = tonumber(ARGV[2]), mailbox = ARGV[3], region = ARGV[4], found = {}}
        local head = first_sound(q)
        local depth = redis.call('ZCARD', KEYS[1])
        if not head then return with_found({depth, false}, q) end
        local f = redis.call('HMGET', ARGV[1] .. head, 'ra', 'a', 'n')
        return with_found({depth, tonumber(f[1]), tonumber(f[2]), tonumber(f[3])}, q)
        """;

    /// <summary>
    /// KEYS: queue, waiting set, lease. ARGV: entryPrefix, nowMs. Makes every waiting entry of the lane due at nowMs
    /// (attempts kept) and empties the waiting set; the head too, should it wait without being in the set (rescheduled
    /// before the set existed). Returns {depth, entries made due, 1 when the lane is leased}.
    /// </summary>
    public const string RetryNow = """
        local now = tonumber(ARGV[2])
        local changed = 0
        local function retry(id)
          local key = ARGV[1] .. id
          if redis.call('EXISTS', key) == 0 or not redis.call('ZSCORE', KEYS[1], id) then return end
          local at = tonumber(redis.call('HGET', key, 'n'))
          if at == nil or at > now then
            redis.call('HSET', key, 'n', ARGV[2])
            changed = changed + 1
          end
        end
        for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do retry(id) end
        redis.call('DEL', KEYS[2])
        local head = redis.call('ZRANGE', KEYS[1], 0, 0)
        if #head == 1 then retry(head[1]) end
        return {redis.call('ZCARD', KEYS[1]), changed, redis.call('EXISTS', KEYS[3])}
        """;

    /// <summary>
    /// KEYS: a shared body. ARGV: entryPrefix. Counts the entries (live or dead) named in the body's <c>e</c> that still
    /// refer to it: with none left (their hashes deleted by an operator or evicted) the body is deleted and 1 returned;
    /// with fewer than its count <c>c</c>, the count is set to them (so the last one's release deletes the body) and 2
    /// returned; else 0. A body without <c>e</c> (written before bodies named their entries) is left alone: 0.
    /// </summary>
    public const string ReleaseOrphanedBody = """
        local named = redis.call('HGET', KEYS[1], 'e')
        if not named then return 0 end
        local ok, ids = pcall(cjson.decode, named)
        if not ok or type(ids) ~= 'table' then return 0 end
        local refs = 0
        for _, id in ipairs(ids) do
          if type(id) == 'string' and redis.call('HGET', ARGV[1] .. id, 'wk') == KEYS[1] then refs = refs + 1 end
        end
        if refs == 0 then
          redis.call('DEL', KEYS[1])
          return 1
        end
        if refs < (tonumber(redis.call('HGET', KEYS[1], 'c')) or 0) then
          redis.call('HSET', KEYS[1], 'c', refs)
          return 2
        end
        return 0
        """;

    /// <summary>Ids one <see cref="PurgeLane"/> call deletes at most (the caller repeats until the lane is empty).</summary>
    public const int PurgeBatch = 1000;

    /// <summary>
    /// KEYS: queue, waiting set. ARGV: entryPrefix, batch. Deletes the first batch ids of the lane with their entries
    /// (the lease is left alone: its holder finds the entries gone). Returns {deleted, left}.
    /// </summary>
    public const string PurgeLane = Bodies + """
        local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
        for _, id in ipairs(ids) do
          redis.call('ZREM', KEYS[1], id)
          redis.call('ZREM', KEYS[2], id)
          release_body(ARGV[1] .. id)
          redis.call('DEL', ARGV[1] .. id)
        end
        local left = redis.call('ZCARD', KEYS[1])
        if left == 0 then redis.call('DEL', KEYS[2]) end
        return {#ids, left}
        """;
}
