namespace Proxy.Routing.Regions.Caching;

/// <summary>
/// The shared Redis of the directory cache, section <c>Redis</c>: the second cache level and the invalidation channel.
/// Every call is bounded: Redis slow, hanging or down costs one short timeout, then it is skipped for a while.
/// </summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis connection string; empty means memory only.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Longest wait for one Redis operation (read, write, publish, readiness PING).</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>After a failure or timeout, Redis is skipped this long (reads miss, writes are dropped).</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one connection attempt may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    public bool Enabled => !string.IsNullOrWhiteSpace(ConnectionString);
}
