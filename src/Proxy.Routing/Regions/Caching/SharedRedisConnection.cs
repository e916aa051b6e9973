using Microsoft.Extensions.Options;
using Proxy.Redis;
using StackExchange.Redis;

namespace Proxy.Routing.Regions.Caching;

/// <summary>
/// The routing's Redis connection (cache second level, invalidation channel, readiness), opened asynchronously
/// on first use so that a hanging Redis never blocks a thread, the start or a request. StackExchange.Redis keeps
/// reconnecting in the background and re-subscribes channels when it is back. The multiplexer is the process's one
/// for this Redis (<see cref="RedisConnections"/>): the billing consumer on the same Redis shares it, and it is closed
/// with the container.
/// </summary>
internal sealed class SharedRedisConnection
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;

    public SharedRedisConnection(RedisConnections connections, IOptions<RedisOptions> options)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _connection = new(() => connections.GetAsync(settings.ConnectionString, configuration =>
        {
            // Every operation is also bounded by the cache guard.
            configuration.ConnectTimeout = Milliseconds(settings.ConnectTimeout);
            configuration.AsyncTimeout = Milliseconds(settings.OperationTimeout);
            configuration.SyncTimeout = Milliseconds(settings.OperationTimeout);
        }), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The multiplexer; the first call starts connecting (bounded by <c>Redis:ConnectTimeout</c>).</summary>
    public Task<IConnectionMultiplexer> GetAsync() => _connection.Value;

    /// <summary>The multiplexer when the first connection attempt has finished, else null.</summary>
    public IConnectionMultiplexer? Current
        => _connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully ? _connection.Value.Result : null;

    private static int Milliseconds(TimeSpan value) => (int)Math.Ceiling(value.TotalMilliseconds);
}
