using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Proxy.Host.Tests;

/// <summary>
/// One end-to-end test per provider whose routing the other Host test classes do not already send for real (GitLab,
/// Jira Server, Bitbucket, Bitbucket Server, Microsoft Teams, legacy plugins, Vercel, Google): the provider's sample
/// payload is posted to the proxy on real Kestrel, with silo stubs and the real SQLite mailbox, and the test asserts
/// which silo received it, byte for byte, and that no other silo did; plus the provider's own refusal or drop.
/// </summary>
public class ProviderEndToEndTests
{
    private const string Directory = """
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "ap", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "eu", "Status": "active" },
            { "Id": 3, "Slug": "hooli", "Region": "us", "Status": "active" },
            { "Id": 4, "Slug": "initech", "Region": "us", "Status": "disabled" }
          ],
          "Integrations": [
            { "Id": 70, "Provider": "gitlab", "ExternalId": "gitlab.example.com:cool-group", "Status": "active", "Organizations": [2] },
            { "Id": 71, "Provider": "gitlab", "ExternalId": "gitlab.example.com:dormant-group", "Status": "active", "Organizations": [4] },
            { "Id": 72, "Provider": "jira_server", "ExternalId": "jira.example.org:sentry-test", "Status": "active", "Organizations": [3] },
            { "Id": 73, "Provider": "msteams", "ExternalId": "19:8d60cd8d2d3d4a8f8d0b9b3c1e6e2f4a@thread.skype", "Status": "active", "Organizations": [1, 3] },
            { "Id": 10, "Provider": "msteams", "ExternalId": "card-integration", "Status": "active", "Organizations": [2] }
          ]
        }
        """;

    private const string GitLabToken = "gitlab.example.com:cool-group:a3f1e9b27c";

    private static byte[] Payload(string provider, string file) => ProxyHarness.Payload(provider, file);

    private static string JiraServerToken(string file) => Encoding.UTF8.GetString(Payload("jira_server", file)).Trim();

    /// <summary>The harness's routes plus the legacy plugins' route of <c>config/proxy.json</c>.</summary>
    private static Task<ProxyHarness> StartAsync() => ProxyHarness.StartWithDirectoryAsync(Directory, routes =>
        ((JsonObject)routes["ReverseProxy"]!["Routes"]!)["plugins"] = new JsonObject
        {
            ["ClusterId"] = "control",
            ["Match"] = new JsonObject { ["Path"] = "/plugins/{**rest}" },
            ["Metadata"] = new JsonObject { ["IntegrationRouting"] = "true" },
        }, ProxyHarness.FastMailbox);

    /// <summary>Waits for one delivery in each of <paramref name="regions"/>, checks it is the webhook as sent, and that no other silo got anything.</summary>
    private static async Task ShouldReachOnlyAsync(ProxyHarness proxy, string path, byte[] body, params string[] regions)
    {
        foreach (var region in regions)
        {
            var received = (await proxy.Regions[region].WaitForRequestsAsync(1)).Should().ContainSingle($"the mailbox delivers to {region} once").Subject;
            received.PathAndQuery.Should().Be(path);
            received.Method.Should().Be("POST");
            received.Body.Should().Equal(body, $"{region} gets the webhook byte for byte");
        }

        // A delivery to a wrong region would have been drained by now: the mailbox polls every 50 ms and the right
        // regions' deliveries, queued at the same time, have all arrived.
        await Task.Delay(300);
        foreach (var (name, region) in proxy.Regions.Where(r => !regions.Contains(r.Key)))
        {
            region.Requests.Should().BeEmpty($"the webhook's organizations are not in {name}");
        }

        proxy.Control.Requests.Should().BeEmpty("a mailboxed webhook is not control's");
    }

    private static async Task ShouldBeAProblemAsync(HttpResponseMessage response, ProxyHarness proxy, string because)
    {
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, because);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json", because);
        await Task.Delay(200);
        proxy.TotalRegionRequests.Should().Be(0, because);
        proxy.Control.Requests.Should().BeEmpty(because);
    }

    [Fact]
    public async Task A_GitLab_push_reaches_the_region_of_the_integration_named_in_its_token_through_the_mailbox()
    {
        await using var proxy = await StartAsync();
        var body = Payload("gitlab", "push.json");

        var response = await proxy.PostAsync("/extensions/gitlab/webhook/", body, "application/json",
            new Dictionary<string, string> { ["X-Gitlab-Token"] = GitLabToken, ["X-Gitlab-Event"] = "Push Hook" });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await ShouldReachOnlyAsync(proxy, "/extensions/gitlab/webhook/", body, "eu");
        proxy.Regions["eu"].Requests.Single().Header("X-Gitlab-Token").Should().Be(GitLabToken, "the region checks the token itself");
    }

    [Theory]
    [InlineData(null, "no token")]
    [InlineData("no-colons", "a token that is not {instance}:{group}:{secret}")]
    [InlineData("gitlab.example.com:unknown-group:s3cret", "an integration the directory does not know")]
    [InlineData("gitlab.example.com:dormant-group:s3cret", "an integration with no active organization")]
    public async Task A_GitLab_webhook_that_names_no_usable_integration_is_a_400_problem(string? token, string because)
    {
        await using var proxy = await StartAsync();
        var headers = new Dictionary<string, string> { ["X-Gitlab-Event"] = "Push Hook" };
        if (token is not null)
        {
            headers["X-Gitlab-Token"] = token;
        }

        var response = await proxy.PostAsync("/extensions/gitlab/webhook/", Payload("gitlab", "push.json"), "application/json", headers);

        await ShouldBeAProblemAsync(response, proxy, because);
    }

    [Fact]
    public async Task A_Jira_Server_issue_update_reaches_the_region_of_the_integration_in_its_URL_token_through_the_mailbox()
    {
        await using var proxy = await StartAsync();
        var token = JiraServerToken("token.txt");
        var path = $"/extensions/jira-server/issue-updated/{token}/";
        var body = Payload("jira_server", "issue_updated.json");

        var response = await proxy.PostAsync(path, body, "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await ShouldReachOnlyAsync(proxy, path, body, "us");
    }

    [Theory]
    [InlineData("issue_updated_no_changelog.json", "token.txt", "an update without a changelog")]
    [InlineData("issue_updated_empty_changelog.json", "token.txt", "an update with an empty changelog")]
    [InlineData("issue_updated.json", "token_without_id.txt", "a token whose payload has no id")]
    public async Task A_Jira_Server_update_the_regions_would_ignore_is_answered_200_at_the_edge_and_sent_nowhere(string file, string tokenFile, string because)
    {
        await using var proxy = await StartAsync();
        var token = JiraServerToken(tokenFile);

        var response = await proxy.PostAsync($"/extensions/jira-server/issue-updated/{token}/", Payload("jira_server", file), "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.OK, because);
        await Task.Delay(300);
        proxy.TotalRegionRequests.Should().Be(0, because);
        proxy.Control.Requests.Should().BeEmpty(because);
    }

    [Theory]
    [InlineData("bitbucket", "/extensions/bitbucket/organizations/2/webhook/", "repo_push.json", "eu")]
    [InlineData("bitbucket_server", "/extensions/bitbucket-server/organizations/3/webhook/72/", "repo_refs_changed.json", "us")]
    [InlineData("plugins", "/plugins/github/organizations/1/webhook/", "github_push.json", "ap")]
    [InlineData("plugins", "/plugins/bitbucket/organizations/2/webhook/", "bitbucket_repo_push.json", "eu")]
    public async Task A_webhook_whose_URL_names_the_organization_reaches_that_organizations_region_through_the_mailbox(
        string provider, string path, string file, string region)
    {
        await using var proxy = await StartAsync();
        var body = Payload(provider, file);

        var response = await proxy.PostAsync(path, body, "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await ShouldReachOnlyAsync(proxy, path, body, region);
    }

    [Theory]
    [InlineData("/extensions/bitbucket/organizations/99/webhook/", "repo_push.json", "bitbucket", "an organization the directory does not know")]
    [InlineData("/extensions/bitbucket/organizations/4/webhook/", "repo_push.json", "bitbucket", "an inactive organization")]
    [InlineData("/extensions/bitbucket-server/organizations/99/webhook/72/", "repo_refs_changed.json", "bitbucket_server", "an organization the directory does not know")]
    [InlineData("/plugins/github/organizations/99/webhook/", "github_push.json", "plugins", "an organization the directory does not know")]
    public async Task A_webhook_naming_an_organization_that_cannot_take_it_is_a_400_problem(string path, string file, string provider, string because)
    {
        await using var proxy = await StartAsync();

        var response = await proxy.PostAsync(path, Payload(provider, file), "application/json");

        await ShouldBeAProblemAsync(response, proxy, because);
    }

    [Theory]
    [InlineData("/extensions/bitbucket/organizations/globex/webhook/", "a non-numeric organization")]
    [InlineData("/extensions/bitbucket/descriptor/", "a Bitbucket page other than the webhook")]
    [InlineData("/extensions/bitbucket-server/organizations/3/webhook/", "a Bitbucket Server webhook without its integration id")]
    [InlineData("/plugins/github/installations/webhook/", "a plugin path other than an organization webhook")]
    [InlineData("/extensions/vercel/webhook/", "Vercel, served by control by design")]
    [InlineData("/extensions/vercel/configure/?configurationId=icfg_1", "a Vercel page")]
    [InlineData("/extensions/google/webhook/", "Google, served by control by design")]
    [InlineData("/extensions/msteams/configure/", "a Teams page other than the bot webhook")]
    [InlineData("/extensions/gitlab/setup/", "a GitLab page other than the webhook")]
    [InlineData("/extensions/jira-server/configure/", "a Jira Server page other than the issue hook")]
    public async Task Pages_and_providers_served_by_control_are_answered_by_control(string path, string because)
    {
        await using var proxy = await StartAsync();
        var body = Encoding.UTF8.GetBytes("""{"type":"deployment.created","payload":{"id":"dpl_1"}}""");

        var response = await proxy.PostAsync(path, body, "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.OK, because);
        response.Headers.GetValues("X-Proxy-Region").Should().ContainSingle().Which.Should().Be("control", because);
        var received = proxy.Control.Requests.Should().ContainSingle(because).Subject;
        received.PathAndQuery.Should().Be(path, because);
        received.Body.Should().Equal(body, because);
        await Task.Delay(200);
        proxy.TotalRegionRequests.Should().Be(0, because);
    }

    [Fact]
    public async Task A_Teams_message_in_a_team_reaches_every_region_of_the_teams_integration_through_the_mailbox()
    {
        await using var proxy = await StartAsync();
        var body = Payload("msteams", "message_in_team.json");

        var response = await proxy.PostAsync("/extensions/msteams/webhook/", body, "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await ShouldReachOnlyAsync(proxy, "/extensions/msteams/webhook/", body, "ap", "us");
    }

    [Fact]
    public async Task A_Teams_card_action_reaches_the_regions_of_the_integration_id_in_its_card_through_the_mailbox()
    {
        await using var proxy = await StartAsync();
        var body = Payload("msteams", "card_action.json");

        var response = await proxy.PostAsync("/extensions/msteams/webhook/", body, "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await ShouldReachOnlyAsync(proxy, "/extensions/msteams/webhook/", body, "eu");
    }

    [Theory]
    [InlineData("installation_update_add.json", "an installation update")]
    [InlineData("personal_message.json", "a message that names no team")]
    [InlineData("malformed.json", "a body that is not JSON")]
    public async Task A_Teams_activity_the_regions_cannot_place_is_answered_by_control(string file, string because)
    {
        await using var proxy = await StartAsync();
        var body = Payload("msteams", file);

        var response = await proxy.PostAsync("/extensions/msteams/webhook/", body, "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.OK, because);
        proxy.Control.Requests.Should().ContainSingle(because).Which.Body.Should().Equal(body, because);
        await Task.Delay(200);
        proxy.TotalRegionRequests.Should().Be(0, because);
    }
}
