using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Proxy.Host.Tests;

/// <summary>
/// Issue 9's edges on real Kestrel: browser pages are never signature-checked; Slack commands and actions that name
/// one organization reach only its region; GitHub webhooks without an event header are routed by body; GitHub
/// Enterprise is verified with its own secret.
/// </summary>
public sealed class ProviderEdgesEndToEndTests : IDisposable
{
    private const string SlackSecret = "slack-secret";
    private const string GitHubSecret = "github-secret";
    private const string GheSecret = "ghe-secret";

    private readonly Key _discordKey = Key.Create(SignatureAlgorithm.Ed25519);

    private string DiscordPublicKey => Convert.ToHexStringLower(_discordKey.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    private string[] Secrets =>
    [
        $"Providers:discord:PublicKey={DiscordPublicKey}", $"Providers:slack:SigningSecret={SlackSecret}",
        $"Providers:github:SigningSecret={GitHubSecret}", $"Providers:github_enterprise:SigningSecret={GheSecret}",
    ];

    [Theory]
    [InlineData("/extensions/discord/link-identity/abc:def:ghi/")]
    [InlineData("/extensions/discord/unlink-identity/abc:def:ghi/")]
    [InlineData("/extensions/discord/configure/")]
    [InlineData("/extensions/slack/link-identity/abc:def:ghi/")]
    [InlineData("/extensions/slack/unlink-identity/abc:def:ghi/")]
    [InlineData("/extensions/github/installation/callback/?code=1")]
    public async Task Control_pages_answer_from_control_with_every_provider_secret_set(string path)
    {
        await using var proxy = await ProxyHarness.StartAsync(null, Secrets);

        var response = await proxy.Client.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Should().Equal("control");
        proxy.Control.Requests.Should().ContainSingle().Which.PathAndQuery.Should().Be(path);
    }

    [Theory]
    [InlineData("/extensions/discord/interactions/", "{\"type\":1}")]
    [InlineData("/extensions/slack/commands/", "team_id=TALL")]
    [InlineData("/extensions/github/webhook/", "{\"installation\":{\"id\":2}}")]
    [InlineData("/extensions/github-enterprise/webhook/", "{\"installation\":{\"id\":2}}")]
    public async Task The_endpoints_providers_sign_still_refuse_an_unsigned_request(string path, string body)
    {
        await using var proxy = await ProxyHarness.StartAsync(null, Secrets);

        var response = await proxy.PostAsync(path, Encoding.UTF8.GetBytes(body),
            body.StartsWith('{') ? "application/json" : "application/x-www-form-urlencoded",
            new Dictionary<string, string> { ["X-GitHub-Event"] = "push", ["X-GitHub-Enterprise-Host"] = "ghe.example.com" });

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        proxy.Control.Requests.Should().BeEmpty();
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task A_GitHub_Enterprise_webhook_signed_with_its_own_secret_passes_the_edge()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, Secrets);
        var body = """{"installation":{"id":2},"repository":{"id":1}}"""u8.ToArray();

        var withGitHubSecret = await proxy.PostAsync("/extensions/github-enterprise/webhook/", body, "application/json", GheHeaders(body, GitHubSecret));
        var withOwnSecret = await proxy.PostAsync("/extensions/github-enterprise/webhook/", body, "application/json", GheHeaders(body, GheSecret));

        withGitHubSecret.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        // Past the signature the directory is asked: it has no GitHub Enterprise installation, hence 400.
        withOwnSecret.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await withOwnSecret.Content.ReadAsStringAsync()).Should().Contain("unknown-integration");
    }

    private static Dictionary<string, string> GheHeaders(byte[] body, string secret) => new()
    {
        ["X-GitHub-Event"] = "push",
        ["X-GitHub-Enterprise-Host"] = "ghe.example.com",
        ["X-Hub-Signature-256"] = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)),
    };

    /// <summary>
    /// Integration TALL belongs to acme (ap), globex (eu) and hooli (us): ap is the alphabetically first region, so
    /// reaching eu alone shows the targeting, in both form encodings.
    /// </summary>
    [Theory]
    [InlineData("link team globex", "eu", false)]
    [InlineData("unlink team GLOBEX", "eu", true)]
    [InlineData("set org hooli", "us", false)]
    [InlineData("link team no-such-org", "ap", true)]
    [InlineData("link team", "ap", false)]
    public async Task A_command_naming_an_organization_reaches_only_its_region(string text, string region, bool multipart)
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var fields = new Dictionary<string, string> { ["team_id"] = "TALL", ["command"] = "/sentry", ["text"] = text };

        var response = await proxy.Client.PostAsync("/extensions/slack/commands/", Form(fields, multipart));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Should().Equal(region);
        proxy.Regions[region].Requests.Should().ContainSingle();
        proxy.TotalRegionRequests.Should().Be(1);
    }

    [Theory]
    [InlineData("resolve::2", false, new[] { "eu" })]
    [InlineData("resolve::2::45", true, new[] { "eu" })]
    [InlineData("resolve::999", false, new[] { "ap", "eu", "us" })]
    [InlineData("resolve", true, new[] { "ap", "eu", "us" })]
    public async Task An_action_whose_id_encodes_an_organization_reaches_only_its_region(string actionId, bool multipart, string[] regions)
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var payload = $$"""{"type":"block_actions","team":{"id":"TALL"},"actions":[{"action_id":"{{actionId}}","type":"button","value":"resolve_dialog"}]}""";

        var response = await proxy.Client.PostAsync("/extensions/slack/action/", Form(new() { ["payload"] = payload }, multipart));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        foreach (var region in regions)
        {
            (await proxy.Regions[region].WaitForRequestsAsync(1)).Should().ContainSingle();
        }

        proxy.TotalRegionRequests.Should().Be(regions.Length);
    }

    [Theory]
    [InlineData("link_identity", false)]
    [InlineData("unlink_identity", true)]
    public async Task Identity_actions_are_answered_by_control(string actionId, bool multipart)
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var payload = $$"""{"type":"block_actions","team_id":"TALL","response_url":"https://hooks.slack.com/actions/T/1/a","actions":[{"action_id":"{{actionId}}","type":"button","value":"link"}]}""";

        var response = await proxy.Client.PostAsync("/extensions/slack/action/", Form(new() { ["payload"] = payload }, multipart));

        response.Headers.GetValues("X-Proxy-Region").Should().Equal("control");
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Theory]
    [InlineData("created", "control")]
    [InlineData("deleted", "control")]
    [InlineData("suspend", "mailbox")]
    public async Task A_GitHub_webhook_without_an_event_header_is_routed_by_its_body(string action, string expected)
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var body = Encoding.UTF8.GetBytes($$$"""{"action":"{{{action}}}","installation":{"id":2},"repository":{"id":7}}""");

        var response = await proxy.PostAsync("/extensions/github/webhook/", body, "application/json");

        if (expected == "control")
        {
            response.Headers.GetValues("X-Proxy-Region").Should().Equal("control");
            proxy.Control.Requests.Should().ContainSingle();
            return;
        }

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await proxy.Regions["eu"].WaitForRequestsAsync(1)).Should().ContainSingle().Which.Body.Should().Equal(body);
        (await proxy.Regions["us"].WaitForRequestsAsync(1)).Should().ContainSingle();
        proxy.Control.Requests.Should().BeEmpty();
    }

    private static HttpContent Form(Dictionary<string, string> fields, bool multipart)
    {
        if (!multipart)
        {
            return new FormUrlEncodedContent(fields);
        }

        var content = new MultipartFormDataContent();
        foreach (var (name, value) in fields)
        {
            var part = new StringContent(value);
            part.Headers.ContentType = null;
            part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = $"\"{name}\"" };
            content.Add(part);
        }

        return content;
    }

    public void Dispose() => _discordKey.Dispose();
}
