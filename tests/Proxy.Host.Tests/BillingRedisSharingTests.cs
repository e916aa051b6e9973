using System.Net;
using System.Text.Json;
using Proxy.Billing.Transport;
using Proxy.Redis;
using Proxy.Routing.Regions.Caching;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// The billing consumer inside the proxy on a real redis-server: on the host's Redis it uses the host's multiplexer,
/// on another Redis one of its own; its readiness shows in /readyz (Degraded at worst) and fails /readyz/billing.
/// </summary>
public sealed class BillingRedisSharingTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task On_the_hosts_Redis_the_consumer_shares_the_hosts_multiplexer_and_is_ready()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, "Mailbox:Store=Sqlite", $"Redis:ConnectionString={redis.ConnectionString}",
            "Billing:Enabled=true", $"Billing:Redis:ConnectionString={redis.ConnectionString}");

        var host = await proxy.App.Services.GetRequiredService<SharedRedisConnection>().GetAsync();
        var billing = await proxy.App.Services.GetRequiredService<BillingRedisConnection>().GetMultiplexerAsync();

        billing.Should().BeSameAs(host);
        proxy.App.Services.GetRequiredService<RedisConnections>().Count.Should().Be(1);
        await Eventually(proxy, "/readyz/billing", HttpStatusCode.OK);
        var ready = await proxy.Client.GetAsync("/readyz");
        ready.StatusCode.Should().Be(HttpStatusCode.OK);
        Check(await ready.Content.ReadAsStringAsync(), "billing").GetProperty("status").GetString().Should().Be("Healthy");
    }

    [Fact]
    public async Task On_another_Redis_the_consumer_has_its_own_connection_and_its_outage_leaves_the_proxy_ready()
    {
        using var refused = new RefusedPort();
        await using var proxy = await ProxyHarness.StartAsync(null, "Mailbox:Store=Sqlite", $"Redis:ConnectionString={redis.ConnectionString}",
            "Billing:Enabled=true", $"Billing:Redis:ConnectionString=127.0.0.1:{refused.Port},connectTimeout=200");

        var host = await proxy.App.Services.GetRequiredService<SharedRedisConnection>().GetAsync();
        var billing = await proxy.App.Services.GetRequiredService<BillingRedisConnection>().GetMultiplexerAsync();

        billing.Should().NotBeSameAs(host);
        proxy.App.Services.GetRequiredService<RedisConnections>().Count.Should().Be(2);
        var ready = await proxy.Client.GetAsync("/readyz");
        ready.StatusCode.Should().Be(HttpStatusCode.OK, "webhooks do not depend on billing");
        var check = Check(await ready.Content.ReadAsStringAsync(), "billing");
        check.GetProperty("status").GetString().Should().Be("Degraded");
        check.GetProperty("description").GetString().Should().Be("the consumer has not joined its group on Redis yet");
        (await proxy.Client.GetAsync("/readyz/billing")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
    }

    private static JsonElement Check(string readyz, string name) => JsonDocument.Parse(readyz).RootElement.GetProperty("checks").GetProperty(name);

    private static async Task Eventually(ProxyHarness proxy, string path, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await proxy.Client.GetAsync(path)).StatusCode != status)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"{path} answers {status} in the end");
            await Task.Delay(20);
        }
    }
}
