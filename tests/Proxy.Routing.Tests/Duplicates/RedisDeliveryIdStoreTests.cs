using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Proxy.Redis;
using Proxy.Routing.Duplicates;
using Proxy.Routing.Regions.Caching;
using Proxy.Testing;

namespace Proxy.Routing.Tests.Duplicates;

/// <summary>The Redis store on a real redis-server: SET NX PX claims, token-checked release, and a Redis that is gone.</summary>
public sealed class RedisDeliveryIdStoreTests : DeliveryIdStoreContract, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly RedisServer _redis;
    private readonly RedisConnections _connections = new();
    private readonly RedisDeliveryIdStore _store;

    public RedisDeliveryIdStoreTests(RedisServer redis)
    {
        _redis = redis;
        var options = Options.Create(new RedisOptions { ConnectionString = redis.ConnectionString, OperationTimeout = TimeSpan.FromSeconds(2) });
        _store = new RedisDeliveryIdStore(new SharedRedisConnection(_connections, options), new RedisBreaker(options, TimeProvider.System, NullLogger<RedisBreaker>.Instance));
    }

    private protected override IDeliveryIdStore Store => _store;

    public async ValueTask InitializeAsync() => await _redis.FlushAsync();

    public async ValueTask DisposeAsync() => await _connections.DisposeAsync();

    [Fact]
    public async Task A_claim_is_a_key_that_expires_with_the_window()
    {
        await _store.TryClaimAsync("github:72d3162e", Window, Ct);

        var ttl = await _redis.Connection!.GetDatabase().KeyTimeToLiveAsync(RedisDeliveryIdStore.KeyPrefix + "github:72d3162e");

        ttl.Should().NotBeNull();
        ttl!.Value.Should().BePositive().And.BeLessThanOrEqualTo(Window);
    }

    [Fact]
    public async Task A_Redis_that_refuses_connections_makes_the_claim_unavailable_not_an_error()
    {
        using var refused = new RefusedPort();
        var options = Options.Create(new RedisOptions
        {
            ConnectionString = $"127.0.0.1:{refused.Port},abortConnect=false,connectTimeout=200",
            OperationTimeout = TimeSpan.FromMilliseconds(300),
            ConnectTimeout = TimeSpan.FromMilliseconds(200),
        });
        await using var connections = new RedisConnections();
        var store = new RedisDeliveryIdStore(new SharedRedisConnection(connections, options), new RedisBreaker(options, TimeProvider.System, NullLogger<RedisBreaker>.Instance));

        (await store.TryClaimAsync("github:d1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Unavailable);
        (await store.TryClaimAsync("github:d1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Unavailable, "the breaker now skips Redis");
        await store.ReleaseAsync("github:d1", "token", Ct);
    }
}
