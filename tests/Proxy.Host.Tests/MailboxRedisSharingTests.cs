using System.Net;
using Proxy.Mailbox;
using Proxy.Redis;
using Proxy.Routing.Regions.Caching;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>The Redis mailbox inside the proxy on a real redis-server uses the process's connection for that Redis (<see cref="RedisConnections"/>).</summary>
public sealed class MailboxRedisSharingTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task On_the_hosts_Redis_the_mailbox_shares_the_hosts_multiplexer_and_stores_webhooks()
    {
        // The mailbox falls back to the host's Redis:ConnectionString.
        await using var proxy = await ProxyHarness.StartAsync(null, $"Redis:ConnectionString={redis.ConnectionString}", "Mailbox:DrainerEnabled=false");

        var host = await proxy.App.Services.GetRequiredService<SharedRedisConnection>().GetAsync();
        var mailbox = proxy.App.Services.GetRequiredService<MailboxRedisConnection>().Multiplexer;

        mailbox.Should().BeSameAs(host);
        proxy.App.Services.GetRequiredService<RedisConnections>().Count.Should().Be(1);
        var response = await proxy.PostAsync("/extensions/github/webhook/", """{"ref":"refs/heads/main","repository":{"id":42},"installation":{"id":2}}"""u8.ToArray(),
            "application/json", new Dictionary<string, string> { ["X-GitHub-Event"] = "push", ["X-GitHub-Delivery"] = Guid.NewGuid().ToString() });
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task On_another_Redis_the_mailbox_has_a_connection_of_its_own()
    {
        await using var other = new RedisServer();
        await other.InitializeAsync();
        await using var proxy = await ProxyHarness.StartAsync(null, $"Redis:ConnectionString={redis.ConnectionString}",
            $"Mailbox:Redis:ConnectionString={other.ConnectionString}", "Mailbox:DrainerEnabled=false");

        var host = await proxy.App.Services.GetRequiredService<SharedRedisConnection>().GetAsync();
        var mailbox = proxy.App.Services.GetRequiredService<MailboxRedisConnection>().Multiplexer;

        mailbox.Should().NotBeSameAs(host);
        proxy.App.Services.GetRequiredService<RedisConnections>().Count.Should().Be(2);
    }
}
