using System.Net;
using System.Text;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// Headers a sender could use to lie to a silo, sent on every way a webhook leaves the proxy: the silos see none of
/// the sender's values (the proxy's own X-Forwarded-* carry the real peer instead).
/// </summary>
public sealed class SpoofingTests : IAsyncLifetime
{
    private const string Marker = "spoofed-by-sender";

    /// <summary>One of each family: forwarding, original-request, client-IP, rewrite, the proxy's own, underscores, configured.</summary>
    private static readonly string[] Families =
    [
        "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Uri",
        "X-Forwarded-Client-Cert", "X-Forwarded-Method", "X-Forwarded-Prefix", "Forwarded", "X-Original-For", "X-Original-Proto",
        "X-Original-Method", "X-Original-URL", "X-Original-Host", "X-Real-IP", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP",
        "X-Cluster-Client-IP", "X-Rewrite-URL", "X-Proxy-Region", "X-Proxy-Delivery", "X_Forwarded_For", "X_Real_IP",
        "X_Proxy_Region", "X-Sentry-Internal",
    ];

    private SiloStub _hooks = null!;

    public async ValueTask InitializeAsync() => _hooks = await SiloStub.StartAsync("slack-hooks");

    public async ValueTask DisposeAsync() => await _hooks.DisposeAsync();

    public static TheoryData<string> WaysOut() => ["first region", "fan-out", "control", "mailbox", "deferred"];

    [Theory]
    [MemberData(nameof(WaysOut))]
    public async Task No_sender_value_of_any_family_reaches_a_silo(string wayOut)
    {
        await using var proxy = await ProxyHarness.StartAsync(null,
            [$"Providers:slack:ResponseUrlPrefixes:0={_hooks.Address}", "Routing:StripHeaderPrefixes:0=X-Sentry-"]);
        var hook = new Uri(_hooks.Address, "commands/1").ToString();
        var (path, body, type, expected) = wayOut switch
        {
            "first region" => ("/extensions/slack/commands/", "team_id=TALL&command=%2Fsentry", "application/x-www-form-urlencoded", 1),
            "fan-out" => ("/extensions/slack/action/", "payload=" + Uri.EscapeDataString("""{"type":"block_actions","team":{"id":"TALL"},"actions":[{"value":"x"}]}"""),
                "application/x-www-form-urlencoded", 3),
            "control" => ("/extensions/slack/event/", """{"type":"url_verification","challenge":"abc"}""", "application/json", 1),
            "mailbox" => ("/extensions/github/webhook/", """{"ref":"refs/heads/main","installation":{"id":2},"repository":{"id":1}}""", "application/json", 2),
            _ => ("/extensions/slack/commands/", $"team_id=TALL&command=%2Fsentry&response_url={Uri.EscapeDataString(hook)}",
                "application/x-www-form-urlencoded", 1),
        };
        var headers = Families.ToDictionary(name => name, _ => Marker);
        headers["X-GitHub-Event"] = "push";
        headers["X-GitHub-Delivery"] = "spoof-1";

        var response = await proxy.PostAsync(path, Encoding.UTF8.GetBytes(body), type, headers);

        ((int)response.StatusCode).Should().BeOneOf([200, 202], await response.Content.ReadAsStringAsync());
        var silos = proxy.Regions.Values.Append(proxy.Control).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (silos.Sum(s => s.Requests.Count) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var seen = silos.SelectMany(s => s.Requests).ToList();
        seen.Should().HaveCount(expected);
        foreach (var request in seen)
        {
            request.Headers.Where(h => h.Value.Contains(Marker, StringComparison.Ordinal)).Select(h => h.Key)
                .Should().BeEmpty($"the {wayOut} request must carry none of the sender's spoofed values");
            request.Headers.Keys.Should().NotContain(k => k.Contains('_', StringComparison.Ordinal));
            request.Header("X-Forwarded-For").Should().Be("127.0.0.1", "the proxy sets the forwarding headers from the real peer");
        }
    }

    [Fact]
    public async Task The_answer_never_echoes_a_spoofed_region()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.PostAsync("/extensions/slack/commands/", "team_id=TALL&command=%2Fsentry"u8.ToArray(),
            "application/x-www-form-urlencoded", new Dictionary<string, string> { ["X-Proxy-Region"] = Marker });

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Should().Equal("ap");
    }
}
