using System.Net;
using Microsoft.Extensions.Logging;
using Proxy.Routing;
using Proxy.Routing.Parsers;
using Proxy.Routing.Regions;
using Proxy.Testing;
using StackExchange.Redis;

namespace Proxy.Host.Tests;

/// <summary>The region cache with Redis as its second level, against a real redis-server the fixture starts.</summary>
public sealed class RegionCacheTests(RedisServer redis) : IClassFixture<RedisServer>, IDisposable
{
    private readonly string _configDir = Directory.CreateTempSubdirectory("proxy-cache-").FullName;
    private readonly List<ServiceProvider> _providers = [];

    private RegionResolver Resolver(string redisConnection)
    {
        File.WriteAllText(Path.Combine(_configDir, "directory.json"), ProxyHarness.DirectoryJson);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [IntegrationRoutingExtensions.ConfigDirKey] = _configDir,
            [IntegrationRoutingExtensions.RedisKey] = redisConnection,
        }).Build();
        var services = new ServiceCollection().AddLogging(l => l.SetMinimumLevel(LogLevel.Critical));
        services.AddReverseProxy().AddIntegrationRouting(configuration);
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider.GetRequiredService<RegionResolver>();
    }

    /// <summary>HybridCache writes its second level in the background: wait (bounded) for the key to land.</summary>
    private static async Task<RedisKey[]> KeysEventuallyAsync(IServer server, string pattern)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        RedisKey[] keys;
        while ((keys = server.Keys(pattern: pattern).ToArray()).Length == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return keys;
    }

    private static long KeyspaceHits(IServer server)
        => long.Parse(server.Info("stats").SelectMany(g => g).Single(p => p.Key == "keyspace_hits").Value, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_resolution_is_stored_in_Redis_and_a_fresh_replica_reads_it_from_there()
    {
        await redis.FlushAsync();
        var target = new RoutingTarget.ExternalIntegration("slack", "TALL");
        var server = redis.Connection!.GetServer($"127.0.0.1:{redis.Port}");

        var first = await Resolver(redis.ConnectionString).ResolveAsync(target, CancellationToken.None);

        first.Regions.Should().Equal("ap", "eu", "us");
        (await KeysEventuallyAsync(server, "edge-proxy:*regions*")).Should().ContainSingle("the answer is shared with other replicas");

        var hitsBefore = KeyspaceHits(server);
        var second = await Resolver(redis.ConnectionString).ResolveAsync(target, CancellationToken.None);

        second.Should().BeEquivalentTo(first);
        KeyspaceHits(server).Should().BeGreaterThan(hitsBefore, "the second replica has an empty memory cache and reads Redis");
    }

    [Fact]
    public async Task Unknown_targets_are_cached_too_with_the_shorter_negative_lifetime()
    {
        await redis.FlushAsync();
        var server = redis.Connection!.GetServer($"127.0.0.1:{redis.Port}");

        var resolution = await Resolver(redis.ConnectionString)
            .ResolveAsync(new RoutingTarget.ExternalIntegration("slack", "T-NOBODY"), CancellationToken.None);

        resolution.Kind.Should().Be(ResolutionKind.UnknownTarget);
        var key = (await KeysEventuallyAsync(server, "edge-proxy:*T-NOBODY*")).Should().ContainSingle().Subject;
        var ttl = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(key);
        ttl.Should().NotBeNull();
        ttl!.Value.Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task With_Redis_down_regions_are_still_resolved_from_the_directory()
    {
        using var refused = new RefusedPort();
        var dead = $"127.0.0.1:{refused.Port},abortConnect=false,connectTimeout=200,syncTimeout=500,asyncTimeout=500";

        var resolution = await Resolver(dead).ResolveAsync(new RoutingTarget.ExternalIntegration("slack", "TUS"), CancellationToken.None);

        resolution.Regions.Should().Equal("us");
    }

    [Fact]
    public async Task With_Redis_down_the_proxy_still_routes_but_is_not_ready()
    {
        using var refused = new RefusedPort();
        var dead = $"127.0.0.1:{refused.Port},abortConnect=false,connectTimeout=200,syncTimeout=500,asyncTimeout=500";
        await using var proxy = await ProxyHarness.StartAsync(null, $"Redis:ConnectionString={dead}");

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", """{"team_id":"TUS"}""");
        var ready = await proxy.Client.GetAsync("/readyz");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Should().Equal("us");
        ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await ready.Content.ReadAsStringAsync()).Should().Contain("Redis does not answer");
    }

    [Fact]
    public async Task With_Redis_up_the_proxy_is_ready_and_routes()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, $"Redis:ConnectionString={redis.ConnectionString}");

        (await proxy.Client.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await proxy.PostJsonAsync("/extensions/slack/event/", """{"team_id":"TUS"}""")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Directory.Delete(_configDir, recursive: true);
    }
}
