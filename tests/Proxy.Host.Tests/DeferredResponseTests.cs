using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Routing.Telemetry;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>Slack requests with a response_url: answered at once, the region's answer posted to the response_url later.</summary>
public sealed class DeferredResponseTests : IAsyncLifetime
{
    private SiloStub _hooks = null!;

    public async ValueTask InitializeAsync() => _hooks = await SiloStub.StartAsync("slack-hooks");

    public async ValueTask DisposeAsync() => await _hooks.DisposeAsync();

    private Task<ProxyHarness> StartAsync(string[]? deadRegions = null, params string[] settings)
        => ProxyHarness.StartAsync(deadRegions, [$"Providers:slack:ResponseUrlPrefixes:0={_hooks.Address}", "Routing:DeferredRetryDelay=00:00:00.050", .. settings]);

    private string Hook(string name) => new Uri(_hooks.Address, $"commands/{name}").ToString();

    [Fact]
    public async Task A_slash_command_is_acknowledged_at_once_and_the_first_regions_answer_is_posted_to_the_response_url()
    {
        await using var proxy = await StartAsync(null, "Routing:SyncDeadline=00:00:00.300");
        proxy.Regions["ap"].Answer = (_, _) => new StubAnswer(Delay: TimeSpan.FromSeconds(1), Body: """{"text":"from ap"}""");

        var response = await proxy.PostFormAsync("/extensions/slack/commands/",
            $"team_id=TALL&command=%2Fsentry&text=help&response_url={Uri.EscapeDataString(Hook("1"))}");

        response.StatusCode.Should().Be(HttpStatusCode.OK, "a slow region no longer costs the sender its 3 s deadline");
        (await response.Content.ReadAsStringAsync()).Should().BeEmpty();
        var posted = (await _hooks.WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
        posted.PathAndQuery.Should().Be("/commands/1");
        posted.Header("Content-Type").Should().StartWith("application/json");
        System.Text.Encoding.UTF8.GetString(posted.Body).Should().Be("""{"text":"from ap"}""");
        proxy.Regions["eu"].Requests.Should().BeEmpty();
        proxy.Regions["us"].Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_block_action_goes_to_every_region_and_the_last_region_by_name_that_answered_is_posted()
    {
        await using var proxy = await StartAsync();
        var payload = $$$"""{"type":"block_actions","team":{"id":"TALL"},"actions":[{"value":"resolve"}],"response_url":"{{{Hook("2")}}}"}""";

        var response = await proxy.PostFormAsync("/extensions/slack/action/", "payload=" + Uri.EscapeDataString(payload));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var posted = (await _hooks.WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
        System.Text.Encoding.UTF8.GetString(posted.Body).Should().Be("""{"answeredBy":"us"}""");
        foreach (var region in proxy.Regions.Values)
        {
            region.Requests.Should().ContainSingle();
        }
    }

    [Fact]
    public async Task A_response_url_outside_the_allowed_prefixes_is_ignored_and_the_request_is_answered_synchronously()
    {
        await using var proxy = await StartAsync();

        var response = await proxy.PostFormAsync("/extensions/slack/commands/",
            $"team_id=TALL&command=%2Fsentry&response_url={Uri.EscapeDataString("http://169.254.169.254/latest/meta-data")}");

        response.Headers.GetValues("X-Proxy-Region").Should().Equal("ap");
        (await response.Content.ReadAsStringAsync()).Should().Contain("\"answeredBy\":\"ap\"");
        await Task.Delay(200);
        _hooks.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("allowed/../escaped/x")]
    [InlineData("allowed/%2e%2e/escaped/x")]
    [InlineData("allowed/..%5cescaped/x")]
    [InlineData("ALLOWED/x")]
    public async Task A_response_url_that_escapes_its_prefix_path_is_never_posted(string path)
    {
        await using var proxy = await ProxyHarness.StartAsync(null,
            [$"Providers:slack:ResponseUrlPrefixes:0={new Uri(_hooks.Address, "allowed/")}", "Routing:DeferredRetryDelay=00:00:00.050"]);
        var escaped = _hooks.Address + path;

        var refused = await proxy.PostFormAsync("/extensions/slack/commands/",
            $"team_id=TALL&command=%2Fsentry&response_url={Uri.EscapeDataString(escaped)}");
        var allowed = await proxy.PostFormAsync("/extensions/slack/commands/",
            $"team_id=TALL&command=%2Fsentry&response_url={Uri.EscapeDataString(new Uri(_hooks.Address, "allowed/ok").ToString())}");

        (await refused.Content.ReadAsStringAsync()).Should().Contain("\"answeredBy\":\"ap\"", "it is answered synchronously instead");
        allowed.StatusCode.Should().Be(HttpStatusCode.OK);
        (await _hooks.WaitForRequestsAsync(1)).Should().ContainSingle().Which.PathAndQuery.Should().Be("/allowed/ok");
    }

    [Fact]
    public async Task When_no_region_answers_nothing_is_posted_and_it_is_counted()
    {
        await using var proxy = await StartAsync(deadRegions: ["ap"]);
        var collector = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.deferred.responses");

        var response = await proxy.PostFormAsync("/extensions/slack/commands/",
            $"team_id=TALL&command=%2Fsentry&response_url={Uri.EscapeDataString(Hook("3"))}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        await collector.WaitForMeasurementsAsync(1).WaitAsync(TimeSpan.FromSeconds(10));
        collector.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags["proxy.outcome"].Should().Be("no_region_answer");
        _hooks.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_response_url_that_refuses_is_retried_then_counted_as_failed()
    {
        await using var proxy = await StartAsync();
        _hooks.Answer = (_, _) => new StubAnswer(500);
        var collector = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.deferred.responses");

        await proxy.PostFormAsync("/extensions/slack/commands/", $"team_id=TUS&command=%2Fsentry&response_url={Uri.EscapeDataString(Hook("4"))}");

        await collector.WaitForMeasurementsAsync(1).WaitAsync(TimeSpan.FromSeconds(10));
        collector.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags["proxy.outcome"].Should().Be("post_failed");
        _hooks.Requests.Should().HaveCount(3, "the first attempt and two retries");
    }
}
