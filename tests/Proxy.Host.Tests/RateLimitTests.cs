using System.Net;
using System.Text.Json;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// <c>RateLimits</c> and <c>Routing:MaxConcurrentFanOutLegs</c> on the real proxy: refusals are 429 (or 503 for the leg
/// cap) problem+json with <c>Retry-After</c>, and nothing refused reaches a region. Buckets refill at one token a second,
/// so a handful of requests sent back to back on loopback always overdraw them.
/// </summary>
public class RateLimitTests
{
    private const string SlackCommand = "team_id=TEU&command=%2Fsentry&text=help";

    private static readonly string s_fanOutAction = "payload=" + Uri.EscapeDataString(
        """{"type":"block_actions","team":{"id":"TALL"},"actions":[{"type":"button","value":"resolve"}]}""");

    [Fact]
    public async Task A_client_over_its_address_limit_gets_429_problem_with_Retry_After_and_nothing_reaches_a_region()
    {
        await using var proxy = await ProxyHarness.StartAsync(null,
            "RateLimits:Enabled=true", "RateLimits:ClientIp:TokensPerSecond=1", "RateLimits:ClientIp:Burst=3",
            "RateLimits:Integration:TokensPerSecond=0");

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await proxy.PostFormAsync("/extensions/slack/commands/", SlackCommand));
        }

        answers.Take(3).Should().OnlyContain(a => a.StatusCode == HttpStatusCode.OK);
        var refused = answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        refused.Should().NotBeEmpty();
        await AssertRateLimitedAsync(refused[0]);
        var routed = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        (routed + refused.Count).Should().Be(10);
        proxy.Regions["eu"].Requests.Should().HaveCount(routed);

        // Probes are never limited: an orchestrator must not see a rate-limited replica as dead.
        (await proxy.Client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_integration_over_its_limit_gets_429_while_another_integration_is_still_routed()
    {
        await using var proxy = await ProxyHarness.StartAsync(null,
            "RateLimits:Enabled=true", "RateLimits:ClientIp:TokensPerSecond=0",
            "RateLimits:Integration:TokensPerSecond=1", "RateLimits:Integration:Burst=2");

        var noisy = new List<HttpResponseMessage>();
        for (var i = 0; i < 8; i++)
        {
            noisy.Add(await proxy.PostFormAsync("/extensions/slack/commands/", SlackCommand));
        }

        var quiet = await proxy.PostFormAsync("/extensions/slack/commands/", "team_id=TUS&command=%2Fsentry&text=help");

        noisy.Take(2).Should().OnlyContain(a => a.StatusCode == HttpStatusCode.OK);
        var refused = noisy.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        refused.Should().NotBeEmpty();
        await AssertRateLimitedAsync(refused[0]);
        (await refused[0].Content.ReadAsStringAsync()).Should().Contain("integration:slack:TEU");
        quiet.StatusCode.Should().Be(HttpStatusCode.OK);
        proxy.Regions["us"].Requests.Should().ContainSingle();
        proxy.Regions["eu"].Requests.Should().HaveCount(noisy.Count(a => a.StatusCode == HttpStatusCode.OK));
    }

    [Fact]
    public async Task Behind_a_trusted_balancer_each_forwarded_client_has_its_own_bucket_and_an_untrusted_one_cannot_pick_its_own()
    {
        await using var proxy = await ProxyHarness.StartAsync(null,
            "RateLimits:Enabled=true", "RateLimits:ClientIp:TokensPerSecond=1", "RateLimits:ClientIp:Burst=2",
            "RateLimits:Integration:TokensPerSecond=0", "RateLimits:TrustedProxies:0=127.0.0.0/8");

        async Task<HttpStatusCode> From(string forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/extensions/slack/commands/")
            {
                Content = new StringContent(SlackCommand, null, "application/x-www-form-urlencoded"),
            };
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
            return (await proxy.Client.SendAsync(request)).StatusCode;
        }

        var first = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            first.Add(await From("203.0.113.5"));
        }

        // A second client behind the same balancer, and a client that claims a made-up hop before it.
        var second = await From("203.0.113.6");
        var claimed = await From("198.51.100.1, 203.0.113.5");

        first.Should().Contain(HttpStatusCode.TooManyRequests);
        second.Should().Be(HttpStatusCode.OK);
        claimed.Should().Be(HttpStatusCode.TooManyRequests, "the right-most untrusted hop is the client, whatever it puts before it");
    }

    [Fact]
    public async Task Fan_out_legs_over_the_cap_are_refused_whole_with_503_and_Retry_After()
    {
        await using var proxy = await ProxyHarness.StartAsync(null,
            "Routing:MaxConcurrentFanOutLegs=3", "Routing:SyncDeadline=00:00:00.400", "Routing:RegionTimeout=00:00:10");
        foreach (var region in proxy.Regions.Values)
        {
            region.Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromSeconds(3));
        }

        // Holds all three slots: its legs outlive its 504 and run until the regions answer.
        var holding = await proxy.PostFormAsync("/extensions/slack/action/", s_fanOutAction);
        var refused = await proxy.PostFormAsync("/extensions/slack/action/", s_fanOutAction);

        holding.StatusCode.Should().Be(HttpStatusCode.GatewayTimeout);
        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        refused.Headers.RetryAfter!.Delta.Should().BePositive();
        refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await refused.Content.ReadAsStringAsync()).Should().Contain("fan-out-saturated");

        // Every region got the first webhook only: the refused one went nowhere.
        foreach (var region in proxy.Regions.Values)
        {
            (await region.WaitForRequestsAsync(1)).Should().ContainSingle();
        }

        foreach (var region in proxy.Regions.Values)
        {
            region.Answer = (_, _) => new StubAnswer();
        }

        // Once the legs end their slots are free again.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpResponseMessage later;
        do
        {
            await Task.Delay(200);
            later = await proxy.PostFormAsync("/extensions/slack/action/", s_fanOutAction);
        }
        while (later.StatusCode == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline);

        later.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static async Task AssertRateLimitedAsync(HttpResponseMessage answer)
    {
        answer.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        answer.Headers.RetryAfter.Should().NotBeNull();
        answer.Headers.RetryAfter!.Delta.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
        using var problem = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:rate-limited");
        problem.RootElement.GetProperty("status").GetInt32().Should().Be(429);
    }
}
