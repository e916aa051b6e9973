namespace Proxy.Mailbox;

/// <summary>
/// Whether the Redis mailbox may use its store, as far as the eviction policy goes (<see cref="RedisEvictionPolicyCheck"/>):
/// closed until the policy of the mailbox Redis was read (or could not be, or eviction is allowed), and closed for good
/// when it is one that may evict stored webhooks. While closed, accepts are refused (503), the drainer waits and the
/// readiness check reports <see cref="Reason"/>. The SQLite store has nothing to check: the gate is open.
/// </summary>
internal sealed class RedisEvictionGate
{
    /// <summary>Before the check could reach Redis.</summary>
    public const string NotChecked = "the maxmemory-policy of the mailbox Redis is not checked yet (Redis was not reachable)";

    private volatile string? _reason;

    public RedisEvictionGate(bool open) => _reason = open ? null : NotChecked;

    /// <summary>Null when the store may be used; else why not.</summary>
    public string? Reason => _reason;

    public bool IsOpen => _reason is null;

    public void Open() => _reason = null;

    public void Refuse(string reason) => _reason = reason;

    /// <summary>Throws (the accept path answers 503) while the gate is closed.</summary>
    public void ThrowIfClosed()
    {
        if (_reason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }
    }
}
