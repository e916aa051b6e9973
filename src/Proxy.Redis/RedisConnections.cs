using System.Collections.Concurrent;
using System.Globalization;
using StackExchange.Redis;

namespace Proxy.Redis;

/// <summary>
/// The process's Redis connections: one multiplexer per Redis, so the features that name the same Redis (routing,
/// billing) share one instead of each opening its own. Same Redis means the same endpoints (as written), user,
/// password, database, TLS and sentinel service; other settings (timeouts, client name) are those of the caller that
/// opened the connection. Connections open asynchronously on first use, do not abort when Redis is down
/// (StackExchange.Redis keeps reconnecting in the background) and close when the container is disposed.
/// </summary>
public sealed class RedisConnections : IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IConnectionMultiplexer>>> _connections = new(StringComparer.Ordinal);

    /// <summary>
    /// The multiplexer of this Redis; the first call for it starts connecting, with <paramref name="configure"/> applied
    /// to the parsed connection string. Later calls for the same Redis share that multiplexer as it is.
    /// </summary>
    public Task<IConnectionMultiplexer> GetAsync(string connectionString, Action<ConfigurationOptions>? configure = null)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        return _connections.GetOrAdd(Identity(configuration), _ => new(() => ConnectAsync(configuration, configure),
            LazyThreadSafetyMode.ExecutionAndPublication)).Value;
    }

    /// <summary>Whether two connection strings name the same Redis, and so share one multiplexer here.</summary>
    public static bool SameRedis(string first, string second)
        => Identity(ConfigurationOptions.Parse(first)) == Identity(ConfigurationOptions.Parse(second));

    /// <summary>How many connections are open or opening: one per distinct Redis asked for.</summary>
    public int Count => _connections.Count;

    private static string Identity(ConfigurationOptions configuration)
    {
        var endpoints = configuration.EndPoints
            .Select(endpoint => EndPointCollection.ToString(endpoint).ToLowerInvariant())
            .Order(StringComparer.Ordinal);
        return string.Join('\n', string.Join(',', endpoints), configuration.User, configuration.Password, configuration.Ssl,
            configuration.DefaultDatabase?.ToString(CultureInfo.InvariantCulture), configuration.ServiceName);
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration, Action<ConfigurationOptions>? configure)
    {
        configure?.Invoke(configuration);
        // Start and keep going when Redis is away; every feature bounds its own calls and backs off.
        configuration.AbortOnConnectFail = false;
        return await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
    }

    /// <summary>Closes the open connections; an attempt still under way is not waited for.</summary>
    public void Dispose()
    {
        foreach (var connection in _connections.Values)
        {
            if (connection.IsValueCreated && connection.Value.IsCompletedSuccessfully)
            {
                connection.Value.Result.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values)
        {
            if (connection.IsValueCreated)
            {
                try
                {
                    await (await connection.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
                }
                catch (RedisException)
                {
                }
            }
        }
    }
}
