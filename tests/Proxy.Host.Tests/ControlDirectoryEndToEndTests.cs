using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// <c>Directory:Source=Control</c> end to end, memory only: the proxy on real Kestrel asks a control stub (real Kestrel)
/// for every kind of target, caches what it answers, and answers 503 while control cannot.
/// </summary>
public sealed class ControlDirectoryEndToEndTests : IAsyncLifetime
{
    private const string AdminKey = "directory-admin-key";
    private ControlDirectoryStub _control = null!;

    public async ValueTask InitializeAsync()
    {
        _control = await ControlDirectoryStub.StartAsync();
        _control.SetOrganization(1, "eu");
        _control.SetOrganization(2, "ap");
        _control.SetOrganization(3, "us");
        _control.SetOrganization(4, "us", status: "disabled");
        _control.SetOrganization(5, "eu");
        _control.SetIntegration(10, "slack", "T1", "active", 1, 2);
        _control.SetIntegration(11, "slack", "TOFF", "disabled", 1);
        _control.SetIntegration(12, "slack", "TIDLE", "active", 4);
        _control.SetIntegration(20, "slack", "T20", "active", 3);
    }

    public async ValueTask DisposeAsync() => await _control.DisposeAsync();

    private Task<ProxyHarness> StartAsync(params string[] settings)
        => ProxyHarness.StartWithControlDirectoryAsync(_control, ["Directory:Source=Control", $"Admin:ApiKey={AdminKey}", .. settings]);

    private static Task<HttpResponseMessage> CommandAsync(ProxyHarness proxy, string team)
        => proxy.PostFormAsync("/extensions/slack/commands/", $"team_id={team}&command=%2Fsentry&text=help");

    /// <summary>A Slack signed link parameter whose payload names <paramref name="integrationId"/> (the silo verifies the signature).</summary>
    private static string SignedLink(long integrationId)
        => Base64Url($$"""{"integration_id":{{integrationId}},"slack_id":"U1"}""") + ":1qHeJk:signature";

    private static string Base64Url(string text)
        => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Task<HttpResponseMessage> InvalidateAsync(ProxyHarness proxy, string body, string? key = AdminKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/admin/directory/invalidate")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Add("X-Admin-Key", key);
        }

        return proxy.Client.SendAsync(request);
    }

    private static string Region(HttpResponseMessage response) => response.Headers.GetValues("X-Proxy-Region").Single();

    [Theory]
    [InlineData("T%01%02%07")]
    [InlineData("T%C3%A9")]
    [InlineData("LONG")]
    public async Task A_hostile_external_id_is_still_cached_so_it_cannot_bypass_the_cache(string team)
    {
        await using var proxy = await StartAsync();
        team = team == "LONG" ? new string('T', 2000) : team;
        var path = ControlDirectoryStub.IntegrationPath("slack", Uri.UnescapeDataString(team));

        var first = await CommandAsync(proxy, team);
        var second = await CommandAsync(proxy, team);

        ((int)first.StatusCode).Should().Be(400, await first.Content.ReadAsStringAsync());
        ((int)second.StatusCode).Should().Be(400);
        _control.Calls(path).Should().Be(1, "an unknown id is cached as unknown, whatever its characters or length");
    }

    [Fact]
    public async Task An_external_id_is_resolved_by_control_once_and_routed_to_the_first_region()
    {
        await using var proxy = await StartAsync();
        var path = ControlDirectoryStub.IntegrationPath("slack", "T1");

        var first = await CommandAsync(proxy, "T1");
        var second = await CommandAsync(proxy, "T1");

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        Region(first).Should().Be("ap", "organizations 1 (eu) and 2 (ap) installed T1; ap is first by name");
        Region(second).Should().Be("ap");
        _control.Calls(path).Should().Be(1, "the second request is answered from the cache");
        proxy.Regions["ap"].Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task An_integration_id_from_a_signed_link_is_resolved_by_control()
    {
        await using var proxy = await StartAsync();

        var response = await proxy.PostFormAsync($"/extensions/slack/link-team/{SignedLink(20)}/", "");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Region(response).Should().Be("us");
        _control.Calls(ControlDirectoryStub.IntegrationByIdPath(20)).Should().Be(1);
    }

    [Fact]
    public async Task An_organization_in_a_Bitbucket_webhook_path_is_resolved_by_control_and_reaches_its_region_through_the_mailbox()
    {
        await using var proxy = await StartAsync("Mailbox:PollIntervalSeconds=0.05");
        var body = Encoding.UTF8.GetBytes("""{"push":{"changes":[]},"repository":{"full_name":"acme/app"}}""");

        var response = await proxy.PostAsync("/extensions/bitbucket/organizations/5/webhook/", body, "application/json",
            new Dictionary<string, string> { ["X-Event-Key"] = "repo:push" });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await proxy.Regions["eu"].WaitForRequestsAsync(1)).Should().ContainSingle().Which.Body.Should().Equal(body);
        _control.Calls(ControlDirectoryStub.OrganizationPath(5)).Should().Be(1);
    }

    [Fact]
    public async Task Unknown_and_inactive_answers_follow_the_parsers_rules_and_an_unknown_id_is_cached_too()
    {
        await using var proxy = await StartAsync();

        var unknown = await CommandAsync(proxy, "T-NOBODY");
        var again = await CommandAsync(proxy, "T-NOBODY");
        var disabled = await proxy.PostJsonAsync("/extensions/slack/event/", """{"team_id":"TOFF","event":{"type":"message"}}""");
        var idle = await proxy.PostJsonAsync("/extensions/slack/event/", """{"team_id":"TIDLE","event":{"type":"message"}}""");

        unknown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unknown.Content.ReadAsStringAsync()).Should().Contain("urn:edge-proxy:problem:unknown-integration");
        again.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        _control.Calls(ControlDirectoryStub.IntegrationPath("slack", "T-NOBODY")).Should().Be(1, "a 404 is cached (for the shorter lifetime)");
        disabled.StatusCode.Should().Be(HttpStatusCode.Accepted, "an integration that is not active has no region: Slack gets 202");
        idle.StatusCode.Should().Be(HttpStatusCode.Accepted, "an integration whose only organization is disabled has no region");
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task Fifty_concurrent_first_requests_of_one_integration_make_exactly_one_control_call()
    {
        await using var proxy = await StartAsync("Directory:Control:Timeout=00:00:20", "Routing:SyncDeadline=00:00:20");
        using var active = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(),
            "Microsoft.AspNetCore.Hosting", "http.server.active_requests");
        _control.HoldAnswers();

        var requests = Enumerable.Range(0, 50).Select(_ => CommandAsync(proxy, "T20")).ToArray();
        // All fifty are inside the proxy, and the first one is at control, before control answers anything.
        await WaitUntilAsync(() => active.GetMeasurementSnapshot().Sum(m => m.Value) >= 50 && _control.TotalCalls >= 1);
        _control.ReleaseAnswers();
        var responses = await Task.WhenAll(requests);

        responses.Should().OnlyContain(r => r.StatusCode == HttpStatusCode.OK);
        responses.Select(Region).Should().OnlyContain(r => r == "us");
        _control.Calls(ControlDirectoryStub.IntegrationPath("slack", "T20")).Should().Be(1);
        proxy.Regions["us"].Requests.Should().HaveCount(50);
    }

    [Fact]
    public async Task Control_answering_503_gives_503_problem_with_Retry_After_within_the_deadline_nothing_is_cached_and_routing_recovers()
    {
        await using var proxy = await StartAsync();
        _control.Mode = ControlDirectoryMode.Unavailable;
        var path = ControlDirectoryStub.IntegrationPath("slack", "T1");

        var started = Stopwatch.StartNew();
        var down = await CommandAsync(proxy, "T1");
        var elapsed = started.Elapsed;
        var downAgain = await CommandAsync(proxy, "T1");
        _control.Mode = ControlDirectoryMode.Up;
        var recovered = await CommandAsync(proxy, "T1");

        down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        down.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        down.Headers.RetryAfter.Should().NotBeNull();
        JsonDocument.Parse(await down.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString()
            .Should().Be("urn:edge-proxy:problem:directory-unavailable");
        elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(2500), "within Routing:SyncDeadline");
        downAgain.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        recovered.StatusCode.Should().Be(HttpStatusCode.OK);
        Region(recovered).Should().Be("ap");
        _control.Calls(path).Should().Be(3, "an error is never cached: each request asked control again");
        proxy.TotalRegionRequests.Should().Be(1);
    }

    [Fact]
    public async Task Control_that_hangs_gives_503_after_the_directory_timeout_and_within_the_deadline()
    {
        await using var proxy = await StartAsync("Directory:Control:Timeout=00:00:00.300");
        _control.Mode = ControlDirectoryMode.Hang;

        var started = Stopwatch.StartNew();
        var response = await CommandAsync(proxy, "T1");
        var elapsed = started.Elapsed;
        _control.Mode = ControlDirectoryMode.Up;
        var recovered = await CommandAsync(proxy, "T1");

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await response.Content.ReadAsStringAsync()).Should().Contain("directory-unavailable").And.Contain("timeout");
        elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(2500), "within Routing:SyncDeadline");
        Region(recovered).Should().Be("ap");
    }

    [Fact]
    public async Task Invalidating_an_organization_drops_the_integrations_it_installed_and_the_next_request_sees_the_new_region()
    {
        await using var proxy = await StartAsync();
        var path = ControlDirectoryStub.IntegrationPath("slack", "T20");
        Region(await CommandAsync(proxy, "T20")).Should().Be("us");
        _control.SetOrganization(3, "ap");
        Region(await CommandAsync(proxy, "T20")).Should().Be("us", "the answer is cached");

        var invalidated = await InvalidateAsync(proxy, """{"organizationId":3}""");
        var after = await CommandAsync(proxy, "T20");

        invalidated.StatusCode.Should().Be(HttpStatusCode.Accepted);
        Region(after).Should().Be("ap");
        _control.Calls(path).Should().Be(2);
    }

    [Fact]
    public async Task Invalidating_by_external_id_also_drops_the_answer_by_integration_id()
    {
        await using var proxy = await StartAsync();
        var link = $"/extensions/slack/link-team/{SignedLink(20)}/";
        await CommandAsync(proxy, "T20");
        await proxy.PostFormAsync(link, "");

        (await InvalidateAsync(proxy, """{"provider":"slack","externalId":"T20"}""")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await CommandAsync(proxy, "T20");
        await proxy.PostFormAsync(link, "");

        _control.Calls(ControlDirectoryStub.IntegrationPath("slack", "T20")).Should().Be(2);
        _control.Calls(ControlDirectoryStub.IntegrationByIdPath(20)).Should().Be(2);
    }

    [Fact]
    public async Task Invalidating_by_integration_id_drops_the_answer_by_external_id()
    {
        await using var proxy = await StartAsync();
        await CommandAsync(proxy, "T1");

        (await InvalidateAsync(proxy, """{"integrationId":10}""")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await CommandAsync(proxy, "T1");

        _control.Calls(ControlDirectoryStub.IntegrationPath("slack", "T1")).Should().Be(2);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"provider":"slack"}""")]
    [InlineData("""{"integrationId":"ten"}""")]
    [InlineData("""{"integrationId":10,"organizationId":1}""")]
    [InlineData("""{"provider":"","externalId":"T1"}""")]
    public async Task A_bad_invalidation_body_is_a_400_problem(string body)
    {
        await using var proxy = await StartAsync();

        var response = await InvalidateAsync(proxy, body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadAsStringAsync()).Should().Contain("urn:edge-proxy:problem:malformed-body");
    }

    [Fact]
    public async Task Invalidation_needs_the_admin_key_accepts_the_mailbox_alias_and_is_off_without_a_key()
    {
        await using (var proxy = await StartAsync())
        {
            (await InvalidateAsync(proxy, """{"integrationId":10}""", key: null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            (await InvalidateAsync(proxy, """{"integrationId":10}""", key: "wrong")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        await using (var proxy = await ProxyHarness.StartWithControlDirectoryAsync(_control, "Directory:Source=Control", "Mailbox:Admin:ApiKey=alias-key"))
        {
            (await InvalidateAsync(proxy, """{"integrationId":10}""", key: "alias-key")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        await using (var proxy = await ProxyHarness.StartWithControlDirectoryAsync(_control, "Directory:Source=Control"))
        {
            (await InvalidateAsync(proxy, """{"integrationId":10}""")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task Requests_control_owns_still_reach_the_control_cluster()
    {
        await using var proxy = await StartAsync();

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", """{"type":"url_verification","challenge":"abc"}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Region(response).Should().Be("control");
        _control.OtherRequests.Should().ContainSingle();
        _control.TotalCalls.Should().Be(0, "no directory lookup for a control request");
    }

    /// <summary>Polls an observable state, bounded so that a bug fails the test instead of hanging it.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the awaited state should be reached");
            await Task.Delay(10);
        }
    }
}
