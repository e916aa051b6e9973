using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Routing.Regions.Caching;

/// <summary>
/// The routing's one Redis connection (cache second level, invalidation channel, readiness), opened asynchronously
/// on first use so that a hanging Redis never blocks a thread, the start or a request. StackExchange.Redis keeps
/// reconnecting in the background and re-subscribes channels when it is back.
/// </summary>
internal sealed class SharedRedisConnection : IAsyncDisposable, IDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;

    public SharedRedisConnection(IOptions<RedisOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _connection = new(() => ConnectAsync(settings), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The multiplexer; the first call starts connecting (bounded by <c>Redis:ConnectTimeout</c>).</summary>
    public Task<IConnectionMultiplexer> GetAsync() => _connection.Value;

    /// <summary>The multiplexer when the first connection attempt has finished, else null.</summary>
    public IConnectionMultiplexer? Current
        => _connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully ? _connection.Value.Result : null;

    private static async Task<IConnectionMultiplexer> ConnectAsync(RedisOptions settings)
    {
        var configuration = ConfigurationOptions.Parse(settings.ConnectionString);
        // Start and keep serving when Redis is away; every operation is also bounded by the cache guard.
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = Milliseconds(settings.ConnectTimeout);
        configuration.AsyncTimeout = Milliseconds(settings.OperationTimeout);
        configuration.SyncTimeout = Milliseconds(settings.OperationTimeout);
        return await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
    }

    private static int Milliseconds(TimeSpan value) => (int)Math.Ceiling(value.TotalMilliseconds);

    /// <summary>Closes the connection when it is open; an attempt still under way is not waited for.</summary>
    public void Dispose() => Current?.Dispose();

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            try
            {
                await (await _connection.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (RedisException)
            {
            }
        }
    }
}
