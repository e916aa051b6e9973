using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Routing.Telemetry;

namespace Proxy.Host.Tests;

/// <summary>
/// <c>POST /admin/explain</c> against real routing: each provider's sample payload is sent once to the proxy (real
/// Kestrel, region stubs) and once pasted into the dry run, and both must agree on the mode, the status and who answers.
/// </summary>
public class ExplainTests
{
    private const string Key = "explain-key";

    /// <summary>Every sample under Payloads/ (signed-link and token files are not webhooks), plus webhooks the test directory routes.</summary>
    public static TheoryData<string, string, string, string, string> Samples()
    {
        var data = new TheoryData<string, string, string, string, string>();
        var root = Path.Combine(AppContext.BaseDirectory, "Payloads");
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var provider = Path.GetFileName(Path.GetDirectoryName(file)!);
            var name = Path.GetFileNameWithoutExtension(file);
            if (file.EndsWith(".txt", StringComparison.Ordinal) || PathFor(provider, name) is not { } path)
            {
                continue;
            }

            var body = File.ReadAllText(file);
            var contentType = file.EndsWith(".form", StringComparison.Ordinal) ? "application/x-www-form-urlencoded"
                // A multipart file starts with its boundary line: "--{boundary}".
                : file.EndsWith(".multipart", StringComparison.Ordinal) ? "multipart/form-data; boundary=" + body[2..body.IndexOf('\r', StringComparison.Ordinal)]
                : "application/json";
            data.Add($"{provider}/{Path.GetFileName(file)}", path, HeaderFor(provider, name), contentType, body);
        }

        data.Add("slack command, team in ap, eu and us", "/extensions/slack/commands/", "", "application/x-www-form-urlencoded", "team_id=TALL&command=%2Fsentry");
        data.Add("slack block action, every region", "/extensions/slack/action/", "", "application/x-www-form-urlencoded",
            "payload=" + Uri.EscapeDataString("""{"type":"block_actions","team":{"id":"TALL"},"actions":[{"value":"resolve"}]}"""));
        data.Add("slack event, eu only", "/extensions/slack/event/", "", "application/json", """{"team_id":"TEU","event":{"type":"message"}}""");
        data.Add("slack event, no active organization", "/extensions/slack/event/", "", "application/json", """{"team_id":"TNONE","event":{"type":"message"}}""");
        data.Add("github push, mailbox for eu and us", "/extensions/github/webhook/", "X-GitHub-Event: push", "application/json",
            """{"ref":"refs/heads/main","installation":{"id":2},"repository":{"id":1}}""");
        data.Add("install flow, control", "/extensions/slack/setup/", "", "application/json", "{}");
        data.Add("plain route, not a webhook", "/plain/eu/status", "", "application/json", "{}");
        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task The_dry_run_agrees_with_real_routing(string sample, string path, string header, string contentType, string body)
    {
        await using var proxy = await ProxyHarness.StartAsync(null, $"Admin:ApiKey={Key}");
        using var decisions = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName,
            "proxy.routing.decisions");
        var headers = header.Length == 0 ? new Dictionary<string, string>()
            : new Dictionary<string, string> { [header[..header.IndexOf(':', StringComparison.Ordinal)]] = header[(header.IndexOf(':', StringComparison.Ordinal) + 2)..] };

        var explained = await ExplainAsync(proxy, path, contentType, body, headers);
        decisions.GetMeasurementSnapshot().Should().BeEmpty("the dry run decides nothing for real");
        proxy.TotalRegionRequests.Should().Be(0, "the dry run sends nothing");
        proxy.Control.Requests.Should().BeEmpty("the dry run sends nothing");

        var real = await proxy.PostAsync(path, Encoding.UTF8.GetBytes(body), contentType, headers);
        var mode = explained.GetProperty("mode").GetString();
        if (mode is "proxy" or "not_routed")
        {
            decisions.GetMeasurementSnapshot().Should().BeEmpty(sample);
            ((int)real.StatusCode).Should().Be(mode == "proxy" ? 200 : 404, sample);
            return;
        }

        decisions.GetMeasurementSnapshot().Should().ContainSingle(sample).Which.Tags["proxy.mode"].Should().Be(mode, sample);
        if (explained.GetProperty("status").ValueKind == JsonValueKind.Number)
        {
            ((int)real.StatusCode).Should().Be(explained.GetProperty("status").GetInt32(), sample);
        }

        var regions = explained.GetProperty("regions").EnumerateArray().Select(r => r.GetString()).ToArray();
        switch (mode)
        {
            case RoutingModes.Control:
                real.Headers.GetValues("X-Proxy-Region").Should().Equal(["control"], sample);
                break;
            case RoutingModes.FirstRegion:
                real.Headers.GetValues("X-Proxy-Region").Should().Equal([regions[0]], sample);
                break;
            case RoutingModes.AllRegions:
                real.Headers.GetValues("X-Proxy-Region").Single().Should().BeOneOf(regions, sample);
                break;
            case RoutingModes.Mailbox:
                real.StatusCode.Should().Be(HttpStatusCode.Accepted, sample);
                explained.GetProperty("mailbox").GetString().Should().StartWith(explained.GetProperty("provider").GetString() + ":");
                foreach (var region in regions)
                {
                    (await proxy.Regions[region!].WaitForRequestsAsync(1)).Should().NotBeEmpty($"{sample}: the mailbox delivers to {region}");
                }

                break;
        }
    }

    [Fact]
    public async Task The_answer_names_provider_decision_reason_target_regions_mode_and_mailbox()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, $"Admin:ApiKey={Key}");

        var slack = await ExplainAsync(proxy, "/extensions/slack/commands/", "application/x-www-form-urlencoded", "team_id=TALL&command=%2Fsentry", new Dictionary<string, string>());
        var github = await ExplainAsync(proxy, "/extensions/github/webhook/", "application/json",
            """{"installation":{"id":2},"repository":{"id":1}}""", new Dictionary<string, string> { ["X-GitHub-Event"] = "push" });

        slack.GetProperty("provider").GetString().Should().Be("slack");
        slack.GetProperty("decision").GetString().Should().Be("to_regions");
        slack.GetProperty("reason").GetString().Should().NotBeNullOrEmpty();
        slack.GetProperty("target").GetString().Should().Be("integration:slack:TALL");
        slack.GetProperty("regions").EnumerateArray().Select(r => r.GetString()).Should().Equal("ap");
        slack.GetProperty("mode").GetString().Should().Be("first_region");
        slack.GetProperty("cluster").GetString().Should().Be("region-ap");
        slack.GetProperty("mailbox").ValueKind.Should().Be(JsonValueKind.Null);
        github.GetProperty("mode").GetString().Should().Be("mailbox");
        github.GetProperty("regions").EnumerateArray().Select(r => r.GetString()).Should().Equal("eu", "us");
        github.GetProperty("mailbox").GetString().Should().StartWith("github:20");
        github.GetProperty("sent").GetBoolean().Should().BeFalse();
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"path":"no-slash"}""")]
    [InlineData("""{"path":"/extensions/slack/event/","bodyBase64":"%%%"}""")]
    [InlineData("""{"path":"/extensions/slack/event/","headers":{"X":1}}""")]
    [InlineData("""{"path":"/extensions/slack/event/","colour":"blue"}""")]
    public async Task A_body_that_is_not_a_pasted_request_is_a_400_problem(string body)
    {
        await using var proxy = await ProxyHarness.StartAsync(null, $"Admin:ApiKey={Key}");

        var response = await SendAsync(proxy, body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task The_operator_endpoints_need_the_admin_key()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, $"Admin:ApiKey={Key}");

        (await proxy.Client.GetAsync("/admin/routing")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await proxy.Client.PostAsync("/admin/explain", new StringContent("{}"))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_routing_table_shows_routes_clusters_regions_destination_health_and_the_directory()
    {
        await using var proxy = await ProxyHarness.StartAsync(["us"], $"Admin:ApiKey={Key}");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/routing");
        request.Headers.Add("X-Admin-Key", Key);

        var table = JsonDocument.Parse(await (await proxy.Client.SendAsync(request)).Content.ReadAsStringAsync()).RootElement;
        var directory = await GetAsync(proxy, "/admin/directory");
        var mailbox = await GetAsync(proxy, "/admin/mailbox/stats");

        table.GetProperty("routes").EnumerateArray().Select(r => r.GetProperty("id").GetString()).Should().Contain(["webhooks", "plain-eu"]);
        table.GetProperty("regions").GetProperty("eu").GetString().Should().Be("region-eu");
        var us = table.GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "region-us");
        us.GetProperty("region").GetString().Should().Be("us");
        us.GetProperty("destinations")[0].GetProperty("health").GetProperty("active").GetString().Should().NotBeNullOrEmpty();
        table.GetProperty("configFiles").EnumerateArray().Should().OnlyContain(f => f.GetProperty("loaded").GetBoolean());
        directory.GetProperty("source").GetString().Should().Be("File");
        directory.GetProperty("integrations").GetInt32().Should().Be(7);
        directory.GetProperty("activeOrganizationsByRegion").GetProperty("us").GetInt32().Should().Be(1);
        mailbox.GetProperty("pending").GetInt64().Should().Be(0);
    }

    private static async Task<JsonElement> GetAsync(ProxyHarness proxy, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Admin-Key", Key);
        var response = await proxy.Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK, path);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static async Task<JsonElement> ExplainAsync(ProxyHarness proxy, string path, string contentType, string body,
        IDictionary<string, string> headers)
    {
        var all = new Dictionary<string, string>(headers) { ["Content-Type"] = contentType };
        var response = await SendAsync(proxy, JsonSerializer.Serialize(new { method = "POST", path, headers = all, body }));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>())!;
    }

    private static Task<HttpResponseMessage> SendAsync(ProxyHarness proxy, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/admin/explain") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Admin-Key", Key);
        return proxy.Client.SendAsync(request);
    }

    private static string? PathFor(string provider, string name) => provider switch
    {
        "slack" when name.StartsWith("command", StringComparison.Ordinal) => "/extensions/slack/commands/",
        "slack" when name.StartsWith("action", StringComparison.Ordinal) || name == "invalid_utf8" => "/extensions/slack/action/",
        "slack" when name.StartsWith("options", StringComparison.Ordinal) => "/extensions/slack/options-load/",
        "slack" => "/extensions/slack/event/",
        "github" => "/extensions/github/webhook/",
        "discord" => "/extensions/discord/interactions/",
        "gitlab" => "/extensions/gitlab/webhook/",
        "jira" => "/extensions/jira/issue-updated/",
        "jira_server" => "/extensions/jira-server/issue-updated/",
        "msteams" => "/extensions/msteams/webhook/",
        "vsts" => "/extensions/vsts/issue-updated/",
        "bitbucket" => "/extensions/bitbucket/organizations/2/webhook/",
        "bitbucket_server" => "/extensions/bitbucket-server/organizations/2/webhook/20/",
        "plugins" when name.StartsWith("github", StringComparison.Ordinal) => "/plugins/github/organizations/2/webhook/",
        "plugins" => "/plugins/bitbucket/organizations/2/webhook/",
        _ => null,
    };

    /// <summary>The header a sender sets beside the body (GitHub names the event, GitLab its hook), as <c>Name: value</c>.</summary>
    private static string HeaderFor(string provider, string name) => provider switch
    {
        "github" => "X-GitHub-Event: " + (new[] { "issue_comment", "pull_request", "installation", "issues", "push", "star" }
            .FirstOrDefault(e => name.StartsWith(e, StringComparison.Ordinal)) ?? "push"),
        "gitlab" => "X-Gitlab-Event: Push Hook",
        _ => "",
    };
}
