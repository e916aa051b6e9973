using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// Gitea, Jira's control fallbacks, Azure DevOps, the shed valve and the catch-all route to control, on real Kestrel
/// with silo stubs and the real SQLite mailbox.
/// </summary>
public class GiteaJiraShedEndToEndTests
{
    private const string Directory = """
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "ap", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "eu", "Status": "active" },
            { "Id": 3, "Slug": "hooli", "Region": "us", "Status": "active" },
            { "Id": 4, "Slug": "initech", "Region": "us", "Status": "disabled" },
            { "Id": 5, "Slug": "umbrella", "Region": "mars", "Status": "active" }
          ],
          "Integrations": [
            { "Id": 20, "Provider": "github", "ExternalId": "2", "Status": "active", "Organizations": [2, 3] },
            { "Id": 40, "Provider": "gitea", "ExternalId": "gitea.globex.example", "Status": "active", "Organizations": [2] },
            { "Id": 50, "Provider": "jira", "ExternalId": "jira-eu", "Status": "active", "Organizations": [2] },
            { "Id": 51, "Provider": "jira", "ExternalId": "jira-two-regions", "Status": "active", "Organizations": [1, 3] },
            { "Id": 60, "Provider": "vsts", "ExternalId": "c12d0eb8-e382-443b-9f9c-c52cba5014c2", "Status": "active", "Organizations": [3] }
          ]
        }
        """;

    private const string AdminKey = "test-admin-key";
    private const string GiteaWebhook = "/extensions/gitea/organizations/2/webhook/40/";

    private static string[] Settings(params string[] more) => [.. ProxyHarness.FastMailbox, $"Admin:ApiKey={AdminKey}", .. more];

    private static byte[] Payload(string provider, string file) => ProxyHarness.Payload(provider, file);

    private static string Jwt(string issuer)
    {
        static string Encode(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{Encode("""{"alg":"HS256","typ":"JWT"}""")}.{Encode($$"""{"iss":"{{issuer}}","qsh":"x"}""")}.c2ln";
    }

    private static string? AnsweredBy(HttpResponseMessage response)
        => response.Headers.TryGetValues("X-Proxy-Region", out var values) ? values.Single() : null;

    private static async Task<string> MailboxesAsync(ProxyHarness proxy)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/mailbox/mailboxes");
        request.Headers.Add("X-Admin-Key", AdminKey);
        var response = await proxy.Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task A_Gitea_webhook_reaches_the_region_of_the_organization_in_its_URL_through_the_mailbox_byte_for_byte()
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings());
        var body = Payload("gitea", "push.json");

        var response = await proxy.PostAsync(GiteaWebhook, body, "application/json", new Dictionary<string, string> { ["X-Gitea-Event"] = "push" });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var received = (await proxy.Regions["eu"].WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
        received.Body.Should().Equal(body);
        received.PathAndQuery.Should().Be(GiteaWebhook);
        received.Header("X-Gitea-Event").Should().Be("push");
        proxy.Regions["ap"].Requests.Should().BeEmpty();
        proxy.Regions["us"].Requests.Should().BeEmpty();
        proxy.Control.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("/extensions/gitea/organizations/99/webhook/40/", "an organization the directory does not know")]
    [InlineData("/extensions/gitea/organizations/4/webhook/40/", "an inactive organization")]
    [InlineData("/extensions/gitea/organizations/5/webhook/40/", "a region no cluster serves")]
    [InlineData("/extensions/gitea/organizations/globex/webhook/40/", "a non-numeric organization")]
    [InlineData("/extensions/gitea/organizations/2/webhook/999/", "an integration the directory does not know")]
    public async Task A_Gitea_webhook_that_cannot_be_placed_is_answered_by_control_and_nothing_is_stored(string path, string because)
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings());

        var response = await proxy.PostAsync(path, Payload("gitea", "push.json"), "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.OK, because);
        AnsweredBy(response).Should().Be("control", because);
        proxy.Control.Requests.Should().ContainSingle().Which.PathAndQuery.Should().Be(path);
        (await MailboxesAsync(proxy)).Should().NotContain("gitea:");
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Theory]
    [InlineData("", "application/json", "malformed-body")]
    [InlineData("ref=main", "application/x-www-form-urlencoded", "unsupported-media-type")]
    public async Task A_Gitea_webhook_without_a_JSON_body_is_a_400_problem(string body, string contentType, string type)
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings());

        var response = await proxy.PostAsync(GiteaWebhook, Encoding.UTF8.GetBytes(body), contentType);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadAsStringAsync()).Should().Contain(type);
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task With_a_Gitea_secret_only_webhooks_signed_with_it_are_taken()
    {
        const string secret = "gitea-webhook-secret";
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings($"Providers:gitea:SigningSecret={secret}"));
        var body = Payload("gitea", "push.json");
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

        var unsigned = await proxy.PostAsync(GiteaWebhook, body, "application/json");
        var wrong = await proxy.PostAsync(GiteaWebhook, body, "application/json", new Dictionary<string, string> { ["X-Gitea-Signature"] = new string('0', 64) });
        var signed = await proxy.PostAsync(GiteaWebhook, body, "application/json", new Dictionary<string, string> { ["X-Gitea-Signature"] = signature });

        unsigned.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await wrong.Content.ReadAsStringAsync()).Should().Contain("invalid-signature");
        signed.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await proxy.Regions["eu"].WaitForRequestsAsync(1)).Should().ContainSingle("only the signed webhook was stored");
    }

    [Fact]
    public async Task The_Jira_issue_panel_is_answered_by_control_when_its_region_gives_no_answer()
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory,
            routes => routes["ReverseProxy"]!["Clusters"]!["region-eu"]!["Destinations"]!["d1"]!["Address"] = "http://127.0.0.1:9/",
            Settings());
        var path = $"/extensions/jira/issue/ABC-1/?jwt={Jwt("jira-eu")}";

        var response = await proxy.Client.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        AnsweredBy(response).Should().Be("control");
        proxy.Control.Requests.Should().ContainSingle().Which.PathAndQuery.Should().Be(path);
    }

    [Fact]
    public async Task The_Jira_issue_panel_is_answered_by_its_region_when_the_region_answers()
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings());
        proxy.Regions["eu"].Answer = (_, _) => new StubAnswer(500);

        var response = await proxy.Client.GetAsync($"/extensions/jira/issue/ABC-1/?jwt={Jwt("jira-eu")}");

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError, "a region's own answer, even an error, is its answer");
        AnsweredBy(response).Should().Be("eu");
        proxy.Control.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_Jira_integration_in_two_regions_is_counted_as_a_configuration_error_and_served_by_control()
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings());
        using var errors = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(),
            Routing.Telemetry.RoutingMetrics.MeterName, "proxy.routing.config_errors");
        var headers = new Dictionary<string, string> { ["Authorization"] = $"JWT {Jwt("jira-two-regions")}" };

        var update = await proxy.PostAsync("/extensions/jira/issue-updated/", Payload("jira", "issue_updated.json"), "application/json", headers);
        var panel = await proxy.Client.GetAsync($"/extensions/jira/issue/ABC-1/?jwt={Jwt("jira-two-regions")}");

        update.StatusCode.Should().Be(HttpStatusCode.OK);
        AnsweredBy(update).Should().Be("control");
        AnsweredBy(panel).Should().Be("control");
        proxy.Control.Requests.Should().HaveCount(2);
        proxy.TotalRegionRequests.Should().Be(0);
        (await MailboxesAsync(proxy)).Should().NotContain("jira:");
        var measurements = errors.GetMeasurementSnapshot();
        measurements.Should().HaveCount(2);
        measurements.Should().OnlyContain(m => (string)m.Tags[Routing.Telemetry.TelemetryAttributes.Provider]! == "jira" && (string)m.Tags[Routing.Telemetry.TelemetryAttributes.ErrorType]! == "multiple_regions");
    }

    [Theory]
    [InlineData("jira")]
    [InlineData("vsts")]
    public async Task Jira_and_Azure_DevOps_updates_reach_their_region_through_the_mailbox(string provider)
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings());
        var (file, region, headers) = provider == "jira"
            ? ("issue_updated.json", "eu", new Dictionary<string, string> { ["Authorization"] = $"JWT {Jwt("jira-eu")}" })
            : ("workitem_updated.json", "us", new Dictionary<string, string>());
        var body = Payload(provider, file);

        var response = await proxy.PostAsync($"/extensions/{provider}/issue-updated/", body, "application/json", headers);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await proxy.Regions[region].WaitForRequestsAsync(1)).Should().ContainSingle().Which.Body.Should().Equal(body);
        proxy.TotalRegionRequests.Should().Be(1);
    }

    [Fact]
    public async Task Shed_rules_answer_429_with_Retry_After_60_and_store_nothing_while_other_webhooks_are_stored()
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings(
            "Shed:Rules:0:Provider=github", "Shed:Rules:0:ExternalId=2",
            "Shed:Rules:1:Provider=gitea", "Shed:Rules:1:IntegrationId=40",
            "Shed:Rules:2:Provider=vsts", "Shed:Rules:2:IntegrationId=60"));
        // Nothing is delivered, so whatever was stored stays in the store to be seen.
        foreach (var region in proxy.Regions.Values)
        {
            region.Answer = (_, _) => new StubAnswer(503);
        }

        using var shed = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(),
            Routing.Telemetry.RoutingMetrics.MeterName, "proxy.webhook.shed");
        var push = """{"ref":"refs/heads/main","repository":{"id":7},"installation":{"id":2}}"""u8.ToArray();

        var answers = new[]
        {
            await proxy.PostAsync("/extensions/github/webhook/", push, "application/json", new Dictionary<string, string> { ["X-GitHub-Event"] = "push" }),
            await proxy.PostAsync(GiteaWebhook, Payload("gitea", "push.json"), "application/json"),
            await proxy.PostAsync("/extensions/vsts/issue-updated/", Payload("vsts", "workitem_updated.json"), "application/json"),
        };
        var kept = await proxy.PostAsync("/extensions/jira/issue-updated/", Payload("jira", "issue_updated.json"), "application/json",
            new Dictionary<string, string> { ["Authorization"] = $"JWT {Jwt("jira-eu")}" });

        foreach (var answer in answers)
        {
            answer.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            answer.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(60));
            answer.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            using var problem = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
            problem.RootElement.GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:shed");
            problem.RootElement.GetProperty("status").GetInt32().Should().Be(429);
        }

        kept.StatusCode.Should().Be(HttpStatusCode.Accepted, "a webhook no rule names is stored as always");
        await proxy.Regions["eu"].WaitForRequestsAsync(1);
        var mailboxes = await MailboxesAsync(proxy);
        mailboxes.Should().Contain("jira:50");
        mailboxes.Should().NotContain("github:").And.NotContain("gitea:").And.NotContain("vsts:");
        proxy.Regions["us"].Requests.Should().BeEmpty();
        proxy.Regions["eu"].Requests.Should().OnlyContain(r => r.PathAndQuery == "/extensions/jira/issue-updated/");
        proxy.Control.Requests.Should().BeEmpty();
        shed.GetMeasurementSnapshot().Select(m => $"{m.Tags[Routing.Telemetry.TelemetryAttributes.Provider]} {m.Tags[Routing.Telemetry.TelemetryAttributes.ShedRule]}")
            .Should().Equal("github github/external:2", "gitea gitea/integration:40", "vsts vsts/integration:60");
    }

    [Fact]
    public async Task A_shed_rule_added_to_the_routes_file_is_live_without_a_restart_and_a_bad_edit_keeps_it()
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, null, Settings());
        var routesPath = Path.Combine(proxy.ConfigDir, "proxy.json");
        var routes = JsonNode.Parse(await File.ReadAllTextAsync(routesPath))!.AsObject();

        (await proxy.PostAsync(GiteaWebhook, Payload("gitea", "push.json"), "application/json")).StatusCode.Should().Be(HttpStatusCode.Accepted);

        routes["Shed"] = new JsonObject { ["Rules"] = new JsonArray(new JsonObject { ["Provider"] = "gitea" }) };
        await File.WriteAllTextAsync(routesPath, routes.ToJsonString());
        (await EventuallyAsync(proxy, HttpStatusCode.TooManyRequests)).Should().Be(HttpStatusCode.TooManyRequests);

        routes["Shed"] = new JsonObject { ["Rules"] = new JsonArray(new JsonObject { ["ExternalId"] = "gitea.globex.example" }) };
        await File.WriteAllTextAsync(routesPath, routes.ToJsonString());
        // The routes edit itself is good JSON, so YARP takes it; only the shed rule in it is refused.
        await Task.Delay(TimeSpan.FromSeconds(3));
        (await proxy.PostAsync(GiteaWebhook, Payload("gitea", "push.json"), "application/json")).StatusCode
            .Should().Be(HttpStatusCode.TooManyRequests, "a rule without a provider is refused and the last good rules stay live");

        routes.Remove("Shed");
        await File.WriteAllTextAsync(routesPath, routes.ToJsonString());
        (await EventuallyAsync(proxy, HttpStatusCode.Accepted)).Should().Be(HttpStatusCode.Accepted);
    }

    private static async Task<HttpStatusCode> EventuallyAsync(ProxyHarness proxy, HttpStatusCode wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpStatusCode status;
        do
        {
            await Task.Delay(200);
            status = (await proxy.PostAsync(GiteaWebhook, Payload("gitea", "push.json"), "application/json")).StatusCode;
        }
        while (status != wanted && DateTime.UtcNow < deadline);

        return status;
    }

    private static void AddCatchAll(JsonObject routes)
        => routes["ReverseProxy"]!["Routes"]!["everything-else-to-control"] = new JsonObject
        {
            ["ClusterId"] = "control",
            ["Order"] = 1000000,
            ["Match"] = new JsonObject { ["Path"] = "/{**catch-all}" },
        };

    [Fact]
    public async Task The_catch_all_route_serves_the_web_app_and_API_from_control_and_leaves_webhooks_to_routing()
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, AddCatchAll, Settings());

        var page = await proxy.Client.GetAsync("/organizations/globex/issues/?query=is%3Aunresolved");
        var api = await proxy.PostAsync("/api/0/projects/globex/web/keys/", """{"name":"k"}"""u8.ToArray(), "application/json");
        var webhook = await proxy.PostAsync(GiteaWebhook, Payload("gitea", "push.json"), "application/json");

        page.StatusCode.Should().Be(HttpStatusCode.OK);
        AnsweredBy(page).Should().Be("control");
        api.StatusCode.Should().Be(HttpStatusCode.OK);
        AnsweredBy(api).Should().Be("control");
        proxy.Control.Requests.Select(r => r.PathAndQuery).Should()
            .Equal("/organizations/globex/issues/?query=is%3Aunresolved", "/api/0/projects/globex/web/keys/");
        webhook.StatusCode.Should().Be(HttpStatusCode.Accepted, "webhook paths stay with the routing middleware");
        (await proxy.Regions["eu"].WaitForRequestsAsync(1)).Should().ContainSingle();
    }

    [Theory]
    [InlineData("GET", "/healthz", HttpStatusCode.OK)]
    [InlineData("POST", "/healthz", HttpStatusCode.OK)]
    [InlineData("GET", "/readyz", HttpStatusCode.OK)]
    [InlineData("GET", "/readyz/anything", HttpStatusCode.NotFound)]
    [InlineData("GET", "/admin/unknown", HttpStatusCode.NotFound)]
    [InlineData("GET", "/ADMIN/mailbox/mailboxes", HttpStatusCode.OK)]
    [InlineData("DELETE", "/admin/mailbox/mailboxes", HttpStatusCode.NotFound)]
    public async Task The_catch_all_route_never_takes_the_proxy_s_own_paths(string method, string path, HttpStatusCode status)
    {
        await using var proxy = await ProxyHarness.StartWithDirectoryAsync(Directory, AddCatchAll, Settings());
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add("X-Admin-Key", AdminKey);

        var response = await proxy.Client.SendAsync(request);

        response.StatusCode.Should().Be(status);
        AnsweredBy(response).Should().BeNull();
        proxy.Control.Requests.Should().BeEmpty();
    }
}
