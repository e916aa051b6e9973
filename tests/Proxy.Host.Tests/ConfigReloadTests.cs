using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Routing.Configuration;
using Proxy.Routing.Telemetry;
using Yarp.ReverseProxy;

namespace Proxy.Host.Tests;

/// <summary>
/// A running proxy given a bad routes edit: the edit is rejected by the validator check-config runs, counted and logged
/// as rejected, the last good routes stay live and the proxy stays ready. A good edit counts as accepted only once YARP
/// applied it.
/// </summary>
public class ConfigReloadTests
{
    public static TheoryData<string, string, string, string> BadEdits => new()
    {
        // mistake, text replaced, replacement, part of the reported problem
        { "a route naming a missing cluster", "\"ClusterId\": \"control\"", "\"ClusterId\": \"nowhere\"", "names cluster 'nowhere'" },
        { "the control cluster deleted", "\"control\": {", "\"central\": {", "the control cluster 'control'" },
        { "a path YARP rejects", "/extensions/{**rest}", "/extensions/{**rest}/{**more}", "Invalid path" },
        { "an unknown field", "\"Match\"", "\"Mtch\"", "unknown field 'Mtch'" },
        { "broken JSON", "\"ReverseProxy\": {", "\"ReverseProxy\": {{", "invalid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadEdits))]
    public async Task A_bad_routes_edit_is_rejected_and_the_last_good_routes_stay_live_and_ready(string mistake, string text, string replacement,
        string problem)
    {
        await using var proxy = await ProxyHarness.StartAsync();
        using var reloads = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName,
            "proxy.config.reloads");
        var routes = proxy.RoutesJson([]);
        routes.Should().Contain(text);

        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "proxy.json"), routes.Replace(text, replacement, StringComparison.Ordinal));
        await reloads.WaitForMeasurementsAsync(1).WaitAsync(TimeSpan.FromSeconds(30));

        reloads.GetMeasurementSnapshot().Should().ContainSingle(mistake).Which.Tags["proxy.outcome"].Should().Be("rejected");
        var status = proxy.App.Services.GetServices<ConfigFileStatus>().Single(s => s.AppliedByProxy);
        status.LastError.Should().Contain("proxy.json line ").And.Contain(problem, mistake);
        (await proxy.Client.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK, mistake);
        var live = proxy.App.Services.GetRequiredService<IProxyStateLookup>();
        live.TryGetRoute("webhooks", out var route).Should().BeTrue();
        route!.Config.ClusterId.Should().Be("control");
        live.TryGetCluster("control", out _).Should().BeTrue();
        var answer = await proxy.PostJsonAsync("/extensions/slack/event/", """{"team_id":"TEU","event":{"type":"message"}}""");
        answer.Headers.GetValues("X-Proxy-Region").Should().Equal(["eu"], $"{mistake}: the last good routes still route");
    }

    [Fact]
    public async Task A_good_edit_is_reported_accepted_only_once_YARP_applied_it()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        using var reloads = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName,
            "proxy.config.reloads");
        var live = proxy.App.Services.GetRequiredService<IProxyStateLookup>();
        var sawRouteWhenAccepted = new TaskCompletionSource<bool>();
        var status = proxy.App.Services.GetServices<ConfigFileStatus>().Single(s => s.AppliedByProxy);
        status.Changed += accepted => sawRouteWhenAccepted.TrySetResult(accepted && live.TryGetRoute("plain-us", out _));

        var routes = proxy.RoutesJson([]).Replace("\"plain-eu\"", "\"plain-us\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "proxy.json"), routes);

        (await sawRouteWhenAccepted.Task.WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue("YARP had applied the edit when it was reported accepted");
        reloads.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags["proxy.outcome"].Should().Be("accepted");
        status.LastError.Should().BeNull();
    }

    [Fact]
    public async Task A_start_on_routes_that_cannot_go_live_fails_naming_the_line()
    {
        var folder = ConfigCheckTests.WriteFolder(
            ConfigCheckTests.GoodRoutes.Replace("\"ClusterId\": \"control\"", "\"ClusterId\": \"nowhere\"", StringComparison.Ordinal),
            ConfigCheckTests.GoodDirectory);

        await using var proxy = ProxyProcess.Start($"ConfigDir={folder}");

        (await proxy.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().Be(1);
        proxy.Lines.Should().ContainSingle().Which.Should()
            .StartWith("edge-proxy: cannot start: proxy.json line ").And.Contain("names cluster 'nowhere'");
    }
}
