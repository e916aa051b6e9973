using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Routing.Telemetry;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>The routing pipeline end to end: real Kestrel for the proxy, the control silo and three region silos.</summary>
public class RoutingEndToEndTests
{
    private static string Event(string team) => $$$"""{"type":"event_callback","team_id":"{{{team}}}","event":{"type":"message","text":"hi"}}""";

    private static string Action(string team, string value)
        => "payload=" + Uri.EscapeDataString($$$"""{"type":"block_actions","team":{"id":"{{{team}}}"},"actions":[{"type":"button","value":"{{{value}}}"}]}""");

    private static async Task<JsonElement> ProblemOf(HttpResponseMessage response)
    {
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task Url_verification_is_answered_by_control()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", """{"type":"url_verification","challenge":"abc"}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Should().Equal("control");
        proxy.Control.Requests.Should().ContainSingle();
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task Install_pages_go_to_control_whatever_the_provider()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.Client.GetAsync("/extensions/github/setup/?installation_id=1");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        proxy.Control.Requests.Should().ContainSingle().Which.PathAndQuery.Should().Be("/extensions/github/setup/?installation_id=1");
    }

    [Fact]
    public async Task A_slash_command_goes_to_the_alphabetically_first_region_only()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.PostFormAsync("/extensions/slack/commands/", "team_id=TALL&command=%2Fsentry&text=help");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Should().Equal("ap");
        (await response.Content.ReadAsStringAsync()).Should().Contain("\"answeredBy\":\"ap\"");
        proxy.Regions["ap"].Requests.Should().ContainSingle();
        proxy.Regions["eu"].Requests.Should().BeEmpty();
        proxy.Regions["us"].Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_region_error_status_is_passed_through_as_the_answer()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(418, Body: """{"teapot":true}""");

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", Event("TUS"));

        response.StatusCode.Should().Be((HttpStatusCode)418);
        (await response.Content.ReadAsStringAsync()).Should().Be("""{"teapot":true}""");
    }

    [Fact]
    public async Task A_block_action_reaches_every_region_and_the_first_answer_to_complete_wins()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        proxy.Regions["ap"].Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromMilliseconds(700));
        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromMilliseconds(700));

        var response = await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL", "resolve"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Should().Equal("eu");
        (await response.Content.ReadAsStringAsync()).Should().Contain("\"answeredBy\":\"eu\"");
        foreach (var region in proxy.Regions.Values)
        {
            (await region.WaitForRequestsAsync(1)).Should().ContainSingle($"region {region.Name} must see the action too");
        }
    }

    [Fact]
    public async Task A_link_action_goes_to_the_first_region_only()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL", "link"));

        response.Headers.GetValues("X-Proxy-Region").Should().Equal("ap");
        proxy.TotalRegionRequests.Should().Be(1);
    }

    [Fact]
    public async Task Fan_out_still_answers_when_one_region_is_down()
    {
        await using var proxy = await ProxyHarness.StartAsync(deadRegions: ["ap"]);
        var collector = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.region.failures");

        var response = await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL", "resolve"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Proxy-Region").Single().Should().BeOneOf("eu", "us");
        await collector.WaitForMeasurementsAsync(1).WaitAsync(TimeSpan.FromSeconds(10));
        var failure = collector.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        failure.Tags["proxy.region"].Should().Be("ap");
        failure.Tags["proxy.mode"].Should().Be("all_regions");
        failure.Tags["proxy.provider"].Should().Be("slack");
        failure.Tags["error.type"].Should().Be("connection_error");
    }

    [Fact]
    public async Task Fan_out_answers_502_problem_naming_each_region_when_every_region_is_down()
    {
        await using var proxy = await ProxyHarness.StartAsync(deadRegions: ["ap", "eu", "us"]);
        var collector = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.sync.failures");

        var response = await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL", "resolve"));

        response.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        var problem = await ProblemOf(response);
        problem.GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:region-unavailable");
        problem.GetProperty("status").GetInt32().Should().Be(502);
        var errors = problem.GetProperty("errors");
        errors.GetProperty("ap").GetString().Should().Be("connection_error");
        errors.GetProperty("eu").GetString().Should().Be("connection_error");
        errors.GetProperty("us").GetString().Should().Be("connection_error");
        collector.GetMeasurementSnapshot().Should().ContainSingle()
            .Which.Tags["proxy.mode"].Should().Be("all_regions");
    }

    [Fact]
    public async Task A_dead_first_region_gives_502_problem_and_counts_a_first_region_failure()
    {
        await using var proxy = await ProxyHarness.StartAsync(deadRegions: ["ap"]);
        var collector = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.sync.failures");

        var response = await proxy.PostFormAsync("/extensions/slack/commands/", "team_id=TALL&command=%2Fsentry");

        response.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        (await ProblemOf(response)).GetProperty("errors").GetProperty("ap").GetString().Should().Be("connection_error");
        var failure = collector.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        failure.Tags["proxy.mode"].Should().Be("first_region");
        failure.Tags["proxy.region"].Should().Be("ap");
        failure.Tags["error.type"].Should().Be("connection_error");
    }

    [Fact]
    public async Task A_slow_first_region_gets_a_504_problem_within_the_sync_deadline()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, "Routing:SyncDeadline=00:00:00.300");
        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromSeconds(5));

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", Event("TUS"));

        response.StatusCode.Should().Be(HttpStatusCode.GatewayTimeout);
        (await ProblemOf(response)).GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:region-timeout");
    }

    [Fact]
    public async Task Fan_out_gets_a_504_problem_when_no_region_answers_within_the_deadline()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, "Routing:SyncDeadline=00:00:00.300");
        foreach (var region in proxy.Regions.Values)
        {
            region.Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromSeconds(3));
        }

        var response = await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL", "resolve"));

        response.StatusCode.Should().Be(HttpStatusCode.GatewayTimeout);
        var errors = (await ProblemOf(response)).GetProperty("errors");
        errors.EnumerateObject().Select(e => e.Name).Should().BeEquivalentTo("ap", "eu", "us");
    }

    [Fact]
    public async Task An_unknown_team_is_a_400_problem()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", Event("T-NOBODY"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ProblemOf(response)).GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:unknown-integration");
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task A_team_with_no_active_organization_gets_202_so_Slack_stops_retrying()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", Event("TNONE"));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task An_oversize_body_is_a_413_problem()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, "Routing:MaxBodyBytes=4096");
        var big = Event("TUS").Replace("\"hi\"", "\"" + new string('x', 5000) + "\"", StringComparison.Ordinal);

        var response = await proxy.PostJsonAsync("/extensions/slack/event/", big);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await ProblemOf(response)).GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:payload-too-large");
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task An_oversize_chunked_body_is_a_413_problem()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, "Routing:MaxBodyBytes=4096");
        var request = new HttpRequestMessage(HttpMethod.Post, "/extensions/slack/event/")
        {
            Content = new StreamContent(new NonSeekableStream(new byte[10_000])),
        };
        request.Content.Headers.ContentType = new("application/json");

        var response = await proxy.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("/extensions/slack/event/")]
    [InlineData("/plain/eu/x")]
    public async Task A_body_whose_framing_breaks_is_answered_400_and_ends_its_connection_instead_of_being_drained(string path)
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var json = "{\"type\":\"event_callback\",\"team_id\":\"TEU\"}"u8.ToArray();
        var body = Encoding.ASCII.GetBytes($"{json.Length:x}\r\n").Concat(json)
            .Concat("\r\n0\r\nX-Trailer: a\0b\r\n\r\n"u8.ToArray()).ToArray();
        // Kept alive (no Connection: close from the sender), so only the proxy can end the connection.
        byte[] request = [.. Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"), .. body];

        var answer = await RawHttp.SendAsync(new Uri(proxy.App.Urls.First()), request);

        answer!.Status.Should().Be(400);
        answer.Header("Content-Type").Should().StartWith("application/problem+json");
        // Kestrel drains what is left of a kept-alive request and logs the broken trailer as an error when it cannot.
        answer.Header("Connection").Should().Be("close");
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task A_sender_that_stalls_mid_body_gets_408_and_the_proxy_keeps_serving()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, "Routing:BodyReadTimeout=00:00:00.300");
        var address = new Uri(proxy.App.Urls.First());
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        // Promises 100 bytes, sends 10, then goes quiet.
        var head = "POST /extensions/slack/event/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"team_id\"";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var answer = Encoding.ASCII.GetString(buffer, 0, read);

        answer.Should().StartWith("HTTP/1.1 408").And.Contain("application/problem+json").And.Contain("body-read-timeout");
        proxy.TotalRegionRequests.Should().Be(0);
        (await proxy.PostJsonAsync("/extensions/slack/event/", Event("TUS"))).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/extensions/slack/event/", "application/json", "{\"team_id\":")]
    [InlineData("/extensions/slack/action/", "application/x-www-form-urlencoded", "payload=%7Bnot-json")]
    [InlineData("/extensions/slack/commands/", "application/x-www-form-urlencoded", "command=%2Fsentry")]
    public async Task Malformed_bodies_are_400_problems(string path, string contentType, string body)
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.PostAsync(path, Encoding.UTF8.GetBytes(body), contentType);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ProblemOf(response)).GetProperty("detail").GetString().Should().NotBeNullOrEmpty();
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task The_body_reaches_every_region_byte_for_byte()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        // Odd spacing, escapes and non-ASCII: anything that re-serialised the JSON would change these bytes.
        var body = Encoding.UTF8.GetBytes("payload=" + Uri.EscapeDataString(
            "{ \"type\" :\"block_actions\",\n \"team\":{\"id\":\"TALL\"},\"actions\":[{\"value\":\"resolve\"}], \"text\":\"caf\\u00e9 ☕ \\\"q\\\"\"  }"));

        var response = await proxy.PostAsync("/extensions/slack/action/", body, "application/x-www-form-urlencoded");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        foreach (var region in proxy.Regions.Values)
        {
            var received = (await region.WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
            received.Body.Should().Equal(body);
            received.Header("Content-Type").Should().Be("application/x-www-form-urlencoded");
        }
    }

    [Fact]
    public async Task A_spoofed_X_Forwarded_For_is_replaced_by_the_proxy()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        await proxy.PostJsonAsync("/extensions/slack/event/", Event("TUS"), new Dictionary<string, string>
        {
            ["X-Forwarded-For"] = "6.6.6.6",
            ["X-Forwarded-Host"] = "evil.example",
            ["X-Proxy-Region"] = "forged",
        });

        var received = proxy.Regions["us"].Requests.Should().ContainSingle().Subject;
        received.Header("X-Forwarded-For").Should().Be("127.0.0.1");
        received.Header("X-Forwarded-Host").Should().NotBe("evil.example");
        received.Header("X-Proxy-Region").Should().BeNull();
    }

    [Fact]
    public async Task Hop_by_hop_headers_and_Host_are_not_copied_to_any_region()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "/extensions/slack/action/")
        {
            Content = new StringContent(Action("TALL", "resolve"), Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.TryAddWithoutValidation("Keep-Alive", "timeout=5");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic c2VjcmV0");
        request.Headers.TryAddWithoutValidation("X-Slack-Signature", "v0=kept");
        request.Headers.Host = "hooks.example";

        (await proxy.Client.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.OK);

        foreach (var region in proxy.Regions.Values)
        {
            var received = (await region.WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
            received.Header("Keep-Alive").Should().BeNull();
            received.Header("Proxy-Authorization").Should().BeNull();
            received.Header("Host").Should().Be(region.Address.Authority, "each hop gets the Host of its destination");
            received.Header("X-Forwarded-Host").Should().Be("hooks.example", "the original host travels in X-Forwarded-Host");
            received.Header("X-Slack-Signature").Should().Be("v0=kept");
        }
    }

    [Fact]
    public async Task A_directory_edit_on_disk_changes_routing_without_a_restart()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        (await proxy.PostJsonAsync("/extensions/slack/event/", Event("TEU"))).Headers.GetValues("X-Proxy-Region").Should().Equal("eu");

        // globex moves to us.
        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "directory.json"),
            ProxyHarness.DirectoryJson.Replace("\"Slug\": \"globex\", \"Region\": \"eu\"", "\"Slug\": \"globex\", \"Region\": \"us\"", StringComparison.Ordinal));

        var answeredBy = await EventuallyAnsweredByAsync(proxy, Event("TEU"), "us");
        answeredBy.Should().Be("us");
    }

    [Fact]
    public async Task A_broken_directory_edit_is_rejected_and_the_last_good_directory_keeps_serving()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var collector = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.config.reloads");

        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "directory.json"), "{ \"Organizations\": [ broken");
        await collector.WaitForMeasurementsAsync(1).WaitAsync(TimeSpan.FromSeconds(15));

        collector.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags["proxy.outcome"].Should().Be("rejected");
        (await proxy.PostJsonAsync("/extensions/slack/event/", Event("TEU"))).Headers.GetValues("X-Proxy-Region").Should().Equal("eu");
    }

    [Fact]
    public async Task A_routes_edit_on_disk_moves_a_region_and_a_broken_edit_keeps_the_last_good_routes()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        await using var replacement = await SiloStub.StartAsync("eu-2");
        var routes = proxy.RoutesJson([]).Replace(proxy.Regions["eu"].Address.ToString(), replacement.Address.ToString(), StringComparison.Ordinal);

        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "proxy.json"), routes);
        await EventuallyAnsweredByAsync(proxy, Event("TEU"), "eu", () => replacement.Requests.Count > 0);
        replacement.Requests.Should().NotBeEmpty("the edited routes send eu webhooks to the new destination");

        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "proxy.json"), "{ \"ReverseProxy\": ");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var before = replacement.Requests.Count;
        (await proxy.PostJsonAsync("/extensions/slack/event/", Event("TEU"))).StatusCode.Should().Be(HttpStatusCode.OK);
        replacement.Requests.Count.Should().Be(before + 1);
    }

    [Fact]
    public async Task Plain_routes_pass_through_YARP_untouched()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await proxy.Client.GetAsync("/plain/anything?x=1");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        proxy.Regions["eu"].Requests.Should().ContainSingle().Which.PathAndQuery.Should().Be("/plain/anything?x=1");
    }

    [Fact]
    public async Task Health_endpoints_report_alive_and_ready()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        (await proxy.Client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
        var ready = await proxy.Client.GetAsync("/readyz");
        ready.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ready.Content.ReadAsStringAsync()).Should().Contain("\"regions\":\"ap,eu,us\"");
    }

    [Fact]
    public async Task Routing_decisions_are_counted_by_provider_and_mode()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var collector = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.routing.decisions");

        await proxy.PostJsonAsync("/extensions/slack/event/", Event("TUS"));
        await proxy.PostFormAsync("/extensions/slack/action/", Action("TALL", "resolve"));
        await proxy.PostJsonAsync("/extensions/slack/event/", """{"type":"url_verification","challenge":"c"}""");

        collector.GetMeasurementSnapshot().Select(m => (string)m.Tags["proxy.mode"]!)
            .Should().Equal("first_region", "all_regions", "control");
    }

    private static async Task<string?> EventuallyAnsweredByAsync(ProxyHarness proxy, string body, string expected, Func<bool>? done = null)
    {
        string? answeredBy = null;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            var response = await proxy.PostJsonAsync("/extensions/slack/event/", body);
            answeredBy = response.Headers.TryGetValues("X-Proxy-Region", out var values) ? values.Single() : null;
            if (answeredBy == expected && (done?.Invoke() ?? true))
            {
                break;
            }

            await Task.Delay(100);
        }

        return answeredBy;
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
