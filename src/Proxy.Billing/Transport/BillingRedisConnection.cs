using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Billing.Transport;

/// <summary>
/// The consumer's own Redis connection (<c>Billing:Redis:ConnectionString</c>), made on first use. It does not
/// abort when Redis is down: StackExchange.Redis keeps reconnecting and the consumer backs off meanwhile.
/// </summary>
internal sealed class BillingRedisConnection(IOptions<BillingOptions> options) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _connection;

    public async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } connection)
        {
            return connection.GetDatabase();
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is null)
            {
                var configuration = ConfigurationOptions.Parse(options.Value.Redis.ConnectionString);
                configuration.AbortOnConnectFail = false;
                configuration.ClientName ??= "edge-proxy-billing";
                _connection = await ConnectionMultiplexer.ConnectAsync(configuration);
            }

            return _connection.GetDatabase();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _gate.Dispose();
    }
}
