using System.Net;
using System.Text;
using System.Text.Json;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// The proxy starts while the mailbox Redis is down, so its eviction policy cannot be checked at start; a redis-server
/// is then started on that port. The check runs again once Redis is reachable: on a Redis that may evict the mailbox
/// refuses webhooks (503 problem+json) and readiness says why; on a noeviction Redis it accepts them.
/// </summary>
public sealed class MailboxEvictionRecheckTests
{
    private static readonly TimeSpan s_within = TimeSpan.FromSeconds(60);

    private static Task<HttpResponseMessage> SendPush(ProxyHarness proxy, int sequence)
        => proxy.PostAsync("/extensions/github/webhook/",
            Encoding.UTF8.GetBytes($$$"""{"ref":"refs/heads/main","seq":{{{sequence}}},"repository":{"id":42},"installation":{"id":2}}"""),
            "application/json", new Dictionary<string, string>
            {
                ["X-GitHub-Event"] = "push",
                ["X-GitHub-Delivery"] = Guid.NewGuid().ToString(),
            });

    private static async Task<ProxyHarness> StartWithRedisDownAsync(int port)
    {
        var proxy = await ProxyHarness.StartAsync(null, $"Mailbox:Redis:ConnectionString=127.0.0.1:{port},abortConnect=false",
            "Mailbox:Redis:OperationTimeoutSeconds=1", "Mailbox:DrainerEnabled=false");
        var response = await SendPush(proxy, 1);
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "Redis is down");
        return proxy;
    }

    /// <summary>The mailbox check's description in <c>/readyz</c> once <paramref name="until"/> holds for it (60 s at the most).</summary>
    private static async Task<(HttpStatusCode Status, string Description)> MailboxReadinessAsync(ProxyHarness proxy, Func<string, bool> until)
    {
        var deadline = DateTime.UtcNow + s_within;
        while (true)
        {
            var response = await proxy.Client.GetAsync("/readyz");
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var description = json.RootElement.GetProperty("checks").GetProperty("mailbox").GetProperty("description").GetString() ?? "";
            if (until(description) || DateTime.UtcNow > deadline)
            {
                return (response.StatusCode, description);
            }

            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_redis_that_comes_up_with_allkeys_lru_after_the_start_is_refused_and_readiness_says_why()
    {
        var port = RedisServer.FreeTcpPort();
        await using var proxy = await StartWithRedisDownAsync(port);
        await using var redis = new RedisServer { Port = port, ExtraArguments = "--maxmemory-policy allkeys-lru" };
        await redis.InitializeAsync();

        var (status, description) = await MailboxReadinessAsync(proxy, d => d.Contains("maxmemory-policy allkeys-lru", StringComparison.Ordinal));

        description.Should().Contain("maxmemory-policy allkeys-lru").And.Contain("Mailbox:Redis:AllowEviction");
        status.Should().Be(HttpStatusCode.ServiceUnavailable);
        var response = await SendPush(proxy, 2);
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a Redis that may evict stored webhooks gets none");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        response.Headers.RetryAfter.Should().NotBeNull();
        (await RedisMailboxStoreKeysAsync(redis)).Should().Be(0, "nothing was written to that Redis");
    }

    [Fact]
    public async Task A_redis_that_comes_up_with_noeviction_after_the_start_is_used()
    {
        var port = RedisServer.FreeTcpPort();
        await using var proxy = await StartWithRedisDownAsync(port);
        await using var redis = new RedisServer { Port = port, ExtraArguments = "--maxmemory-policy noeviction" };
        await redis.InitializeAsync();

        var (status, description) = await MailboxReadinessAsync(proxy, d => d == "mailbox store: redis");

        description.Should().Be("mailbox store: redis");
        status.Should().Be(HttpStatusCode.OK);
        (await SendPush(proxy, 2)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await RedisMailboxStoreKeysAsync(redis)).Should().BeGreaterThan(0, "the webhook is stored in that Redis");
    }

    private static async Task<int> RedisMailboxStoreKeysAsync(RedisServer redis)
    {
        var count = 0;
        await foreach (var _ in redis.Connection!.GetServer($"127.0.0.1:{redis.Port}").KeysAsync(pattern: "mb:*"))
        {
            count++;
        }

        return count;
    }
}
