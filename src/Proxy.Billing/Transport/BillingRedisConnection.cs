using Microsoft.Extensions.Options;
using Proxy.Redis;
using StackExchange.Redis;

namespace Proxy.Billing.Transport;

/// <summary>
/// The consumer's Redis (<c>Billing:Redis:ConnectionString</c>), the process's one multiplexer for it
/// (<see cref="RedisConnections"/>): inside the proxy, when it names the host's Redis (<c>Redis:ConnectionString</c>),
/// the consumer shares the host's connection; only another Redis gets a connection of its own. It does not abort when
/// Redis is down: StackExchange.Redis keeps reconnecting and the consumer backs off meanwhile.
/// </summary>
internal sealed class BillingRedisConnection(RedisConnections connections, IOptions<BillingOptions> options)
{
    public Task<IConnectionMultiplexer> GetMultiplexerAsync()
        => connections.GetAsync(options.Value.Redis.ConnectionString, configuration => configuration.ClientName ??= "edge-proxy-billing");

    public async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
        => (await GetMultiplexerAsync().WaitAsync(cancellationToken)).GetDatabase();
}
