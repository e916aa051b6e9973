using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>The mailbox on a real redis-server (AOF) that is killed while the proxy accepts webhooks, then restarted on its port.</summary>
public sealed class MailboxStoreOutageTests
{
    private static readonly TimeSpan s_acceptTimeout = TimeSpan.FromSeconds(1);

    // Scheduling slack on a shared 2-core machine; a refusal that waited for the Redis timeouts takes 5 s or more.
    private static readonly TimeSpan s_slack = TimeSpan.FromSeconds(1.5);

    private static byte[] Push(int sequence)
        => Encoding.UTF8.GetBytes($$$"""{"ref":"refs/heads/main","seq":{{{sequence}}},"repository":{"id":42},"installation":{"id":2}}""");

    private static Task<HttpResponseMessage> SendPush(ProxyHarness proxy, int sequence)
        => proxy.PostAsync("/extensions/github/webhook/", Push(sequence), "application/json", new Dictionary<string, string>
        {
            ["X-GitHub-Event"] = "push",
            ["X-GitHub-Delivery"] = Guid.NewGuid().ToString(),
        });

    private static List<int> FirstSeen(SiloStub region)
        => region.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("seq").GetInt32()).Distinct().ToList();

    [Fact]
    public async Task With_the_store_down_the_sender_gets_503_within_the_accept_timeout_and_every_202_is_delivered_in_order_after_recovery()
    {
        await using var redis = new RedisServer { AppendOnly = true };
        await redis.InitializeAsync();
        await using var proxy = await ProxyHarness.StartAsync(null,
            "Mailbox:Backoff:InitialMinutes=0.0008", "Mailbox:Backoff:Rate=1.0", "Mailbox:PollIntervalSeconds=0.05", "Mailbox:MaxAttempts=100000",
            // us refuses before the outage and the order is asserted: GitHub lanes strictly in order.
            "Mailbox:Ordering:github=Strict",
            $"Mailbox:Redis:ConnectionString={redis.ConnectionString}",
            // One Redis command may wait 5 s: only the accept timeout keeps the refusal within what a sender waits.
            "Mailbox:Redis:OperationTimeoutSeconds=5", $"Mailbox:AcceptTimeout={s_acceptTimeout}");
        // us refuses for now, so what it was sent is still stored when Redis goes away.
        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(503);
        for (var i = 1; i <= 5; i++)
        {
            (await SendPush(proxy, i)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        await redis.KillAsync();
        for (var i = 6; i <= 8; i++)
        {
            var clock = Stopwatch.StartNew();
            var response = await SendPush(proxy, i);
            clock.Stop();

            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "nothing was stored, so nothing is acknowledged");
            response.Headers.RetryAfter.Should().NotBeNull();
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            clock.Elapsed.Should().BeLessThan(s_acceptTimeout + s_slack, "Mailbox:AcceptTimeout bounds the refusal");
        }

        await redis.RestartAsync();
        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(200);
        // A sender retries its 503s; the first one stored after the recovery is the 9th.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await SendPush(proxy, 9)).StatusCode != HttpStatusCode.Accepted)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the proxy accepts again once Redis is back");
            await Task.Delay(200);
        }

        foreach (var region in new[] { proxy.Regions["eu"], proxy.Regions["us"] })
        {
            while (FirstSeen(region).Count < 6 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            FirstSeen(region).Should().Equal([1, 2, 3, 4, 5, 9], $"every webhook answered 202 reaches {region.Name}, in order, and no refused one");
        }
    }
}
