namespace Proxy.Routing.Duplicates;

/// <summary>
/// The fallback when neither Redis nor the embedded SQLite store is there: ids in process memory, at most
/// <c>Dedup:MemoryCapacity</c> of them (the oldest are forgotten first), lost on restart and not shared by replicas.
/// </summary>
internal sealed class MemoryDeliveryIdStore(int capacity, TimeProvider time) : IDeliveryIdStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    // Claims in the order they were made (so in expiry order while the window stays the same); an item whose key was
    // released or claimed again is skipped when it comes up.
    private readonly Queue<(string Key, long ExpiresAt)> _order = new();

    public string Kind => "memory";

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public ValueTask<DeliveryClaim> TryClaimAsync(string key, TimeSpan window, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            while (_order.TryPeek(out var head) && (head.ExpiresAt <= now || _order.Count > 2 * capacity))
            {
                Forget(_order.Dequeue());
            }

            if (_entries.TryGetValue(key, out var existing) && existing.ExpiresAt > now)
            {
                return ValueTask.FromResult(DeliveryClaim.Duplicate);
            }

            while (_entries.Count >= capacity && _order.TryDequeue(out var oldest))
            {
                Forget(oldest);
            }

            var claim = DeliveryClaim.NewClaim();
            var expiresAt = now + window.Ticks;
            _entries[key] = new Entry(claim.Token!, expiresAt);
            _order.Enqueue((key, expiresAt));
            return ValueTask.FromResult(claim);
        }
    }

    public ValueTask ReleaseAsync(string key, string token, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var existing) && existing.Token == token)
            {
                _entries.Remove(key);
            }
        }

        return ValueTask.CompletedTask;
    }

    private void Forget((string Key, long ExpiresAt) item)
    {
        if (_entries.TryGetValue(item.Key, out var existing) && existing.ExpiresAt == item.ExpiresAt)
        {
            _entries.Remove(item.Key);
        }
    }

    private readonly record struct Entry(string Token, long ExpiresAt);
}
