using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Proxy.Routing.Dispatch;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// What every send outside YARP's forwarder shares with a synchronous forward (RegionRequestBuilder): the route's
/// transforms, the cluster's HTTP settings and load-balancing policy; and who the answer says answered.
/// </summary>
public class DispatchEndToEndTests
{
    private static readonly string[] FastMailbox = ["Mailbox:PollIntervalSeconds=0.05"];

    private static string Action(string team)
        => "payload=" + Uri.EscapeDataString($$"""{"type":"block_actions","team":{"id":"{{team}}"},"actions":[{"type":"button","value":"resolve"}]}""");

    private static JsonObject Routes(JsonObject document) => document["ReverseProxy"]!["Routes"]!.AsObject();

    private static JsonObject Clusters(JsonObject document) => document["ReverseProxy"]!["Clusters"]!.AsObject();

    /// <summary>The webhook route sets a header and adds a query parameter: transforms every region send must apply.</summary>
    private static void WithTransforms(JsonObject document)
        => Routes(document)["webhooks"]!["Transforms"] = new JsonArray(
            new JsonObject { ["RequestHeader"] = "X-Edge-Route", ["Set"] = "webhooks" },
            new JsonObject { ["QueryValueParameter"] = "via", ["Append"] = "edge" });

    [Fact]
    public async Task Mailbox_deliveries_carry_the_route_transforms_the_forwarding_headers_and_the_cluster_http_version()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, document =>
        {
            WithTransforms(document);
            Clusters(document)["region-eu"]!["HttpRequest"] = new JsonObject { ["Version"] = "1.0", ["VersionPolicy"] = "RequestVersionExact" };
        }, FastMailbox);
        var body = Encoding.UTF8.GetBytes("""{"ref":"refs/heads/main","repository":{"id":7},"installation":{"id":2}}""");

        var response = await proxy.PostAsync("/extensions/github/webhook/", body, "application/json", new Dictionary<string, string>
        {
            ["X-GitHub-Event"] = "push",
            ["X-Forwarded-For"] = "6.6.6.6",
        });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var eu = (await proxy.Regions["eu"].WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
        var us = (await proxy.Regions["us"].WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
        foreach (var delivered in new[] { eu, us })
        {
            delivered.Header("X-Edge-Route").Should().Be("webhooks");
            delivered.PathAndQuery.Should().Be("/extensions/github/webhook/?via=edge");
            delivered.Header("X-Forwarded-For").Should().Be("127.0.0.1", "the proxy sets the forwarding headers; the sender's is gone");
            delivered.Header("X-Forwarded-Proto").Should().Be("http");
            delivered.Header("Content-Type").Should().Be("application/json");
            delivered.Body.Should().Equal(body);
        }

        eu.Protocol.Should().Be("HTTP/1.0", "region-eu's cluster asks for HTTP/1.0");
        us.Protocol.Should().Be("HTTP/1.1");
    }

    [Fact]
    public async Task Fan_out_legs_carry_the_route_transforms_like_the_synchronous_forward()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, WithTransforms);

        (await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL"))).StatusCode.Should().Be(HttpStatusCode.OK);
        (await proxy.PostFormAsync("/extensions/slack/commands/", "team_id=TUS&command=%2Fsentry")).StatusCode.Should().Be(HttpStatusCode.OK);

        foreach (var region in new[] { "ap", "eu" })
        {
            var leg = (await proxy.Regions[region].WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
            leg.Header("X-Edge-Route").Should().Be("webhooks");
            leg.PathAndQuery.Should().Be("/extensions/slack/action/?via=edge");
        }

        var us = await proxy.Regions["us"].WaitForRequestsAsync(2);
        us.Select(r => r.PathAndQuery).Should().BeEquivalentTo("/extensions/slack/action/?via=edge", "/extensions/slack/commands/?via=edge");
        us.Should().OnlyContain(r => r.Header("X-Edge-Route") == "webhooks");
    }

    [Fact]
    public async Task Fan_out_follows_the_cluster_load_balancing_policy()
    {
        // region-us gets a second destination (the control stub stands in for a second us replica), round robin.
        await using var proxy = await ProxyHarness.StartAsync(null, document =>
        {
            var us = Clusters(document)["region-us"]!.AsObject();
            us["LoadBalancingPolicy"] = "RoundRobin";
            us["Destinations"]!.AsObject()["d2"] = new JsonObject { ["Address"] = document["ReverseProxy"]!["Clusters"]!["control"]!["Destinations"]!["d1"]!["Address"]!.GetValue<string>() };
        });

        for (var i = 0; i < 4; i++)
        {
            (await proxy.PostFormAsync("/extensions/slack/action/", Action("TUS"))).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        proxy.Regions["us"].Requests.Should().HaveCount(2, "round robin alternates between the two destinations");
        proxy.Control.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Only_a_silo_answer_names_the_silo_a_problem_written_by_the_proxy_names_none()
    {
        // A deadline that a cold proxy on a busy machine still meets for the answers, well below us's delay.
        await using var proxy = await ProxyHarness.StartAsync(deadRegions: ["ap"], "Routing:SyncDeadline=00:00:02");
        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromSeconds(10));

        var answered = await proxy.PostFormAsync("/extensions/slack/commands/", "team_id=TEU&command=%2Fsentry");
        var badGateway = await proxy.PostFormAsync("/extensions/slack/commands/", "team_id=TALL&command=%2Fsentry");
        var timeout = await proxy.PostFormAsync("/extensions/slack/commands/", "team_id=TUS&command=%2Fsentry");
        var regionError = await SendWithAnswer(proxy, "eu", new StubAnswer(500), "TEU");

        answered.StatusCode.Should().Be(HttpStatusCode.OK);
        answered.Headers.GetValues("X-Proxy-Region").Should().Equal("eu");
        badGateway.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        badGateway.Headers.Contains("X-Proxy-Region").Should().BeFalse();
        timeout.StatusCode.Should().Be(HttpStatusCode.GatewayTimeout);
        timeout.Headers.Contains("X-Proxy-Region").Should().BeFalse();
        regionError.StatusCode.Should().Be(HttpStatusCode.InternalServerError, "a region's own error is its answer");
        regionError.Headers.GetValues("X-Proxy-Region").Should().Equal("eu");
    }

    [Fact]
    public async Task A_fan_out_answered_by_one_region_names_it_and_every_region_failing_names_none()
    {
        await using var proxy = await ProxyHarness.StartAsync(deadRegions: ["ap", "eu", "us"]);

        var failed = await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL"));

        failed.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        failed.Headers.Contains("X-Proxy-Region").Should().BeFalse();
    }

    [Fact]
    public async Task Fan_out_legs_still_running_after_the_answer_are_finished_before_the_proxy_stops()
    {
        var proxy = await ProxyHarness.StartAsync();
        await using (proxy)
        {
            proxy.Regions["us"].Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromSeconds(1));

            var response = await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL"));

            response.StatusCode.Should().Be(HttpStatusCode.OK);
            response.Headers.GetValues("X-Proxy-Region").Single().Should().BeOneOf("ap", "eu");
            await proxy.Regions["us"].WaitForRequestsAsync(1);
            proxy.Regions["us"].Completed.Should().Be(0, "the us leg is still waiting for its answer");
            proxy.App.Services.GetRequiredService<BackgroundSends>().InFlight.Should().Be(1);

            await proxy.App.StopAsync(TestContext.Current.CancellationToken);

            proxy.Regions["us"].Completed.Should().Be(1, "stopping waits for the leg instead of cutting it off");
            proxy.App.Services.GetRequiredService<BackgroundSends>().InFlight.Should().Be(0);
        }
    }

    private static async Task<HttpResponseMessage> SendWithAnswer(ProxyHarness proxy, string region, StubAnswer answer, string team)
    {
        var previous = proxy.Regions[region].Answer;
        proxy.Regions[region].Answer = (_, _) => answer;
        try
        {
            return await proxy.PostFormAsync("/extensions/slack/commands/", $"team_id={team}&command=%2Fsentry");
        }
        finally
        {
            proxy.Regions[region].Answer = previous;
        }
    }
}
