using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Routing.Telemetry;

namespace Proxy.Host.Tests;

/// <summary>config/provider-rules.json on real Kestrel: an edit on disk changes routing without a restart; a broken edit keeps the last good rules.</summary>
public sealed class ProviderRulesEndToEndTests
{
    private static Task<HttpResponseMessage> Star(ProxyHarness proxy)
        => proxy.PostAsync("/extensions/github/webhook/", """{"action":"created","installation":{"id":2},"repository":{"id":7}}"""u8.ToArray(),
            "application/json", new Dictionary<string, string> { ["X-GitHub-Event"] = "star" });

    private static Task<HttpResponseMessage> OptionsLoad(ProxyHarness proxy)
        => proxy.PostFormAsync("/extensions/slack/options-load/", "payload=" + Uri.EscapeDataString("""{"type":"block_suggestion","team":{"id":"TEU"}}"""));

    [Fact]
    public async Task An_edit_of_the_rules_file_changes_routing_and_a_broken_edit_keeps_the_last_good_rules()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var reloads = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(), RoutingMetrics.MeterName, "proxy.config.reloads");

        // The reference's rules: star is dropped with 202, options loads reach the first region.
        (await Star(proxy)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await OptionsLoad(proxy)).Headers.GetValues("X-Proxy-Region").Should().Equal("eu");
        proxy.Control.Requests.Should().BeEmpty();

        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "provider-rules.json"), """
            { "Providers": {
                "github": { "Events": { "star": "control" } },
                "slack": { "Endpoints": { "options-load": "drop" } } } }
            """);
        await reloads.WaitForMeasurementsAsync(1).WaitAsync(TimeSpan.FromSeconds(15));
        reloads.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[TelemetryAttributes.Outcome].Should().Be("accepted");

        (await Star(proxy)).Headers.GetValues("X-Proxy-Region").Should().Equal("control");
        var dropped = await OptionsLoad(proxy);
        dropped.StatusCode.Should().Be(HttpStatusCode.OK);
        dropped.Headers.Contains("X-Proxy-Region").Should().BeFalse("a dropped webhook is answered at the edge");
        proxy.Regions["eu"].Requests.Should().ContainSingle("only the options load sent before the edit reached a region");

        await File.WriteAllTextAsync(Path.Combine(proxy.ConfigDir, "provider-rules.json"),
            """{ "Providers": { "github": { "Events": { "star": "mailbox" } } } }""");
        await reloads.WaitForMeasurementsAsync(2).WaitAsync(TimeSpan.FromSeconds(15));
        reloads.GetMeasurementSnapshot()[1].Tags[TelemetryAttributes.Outcome].Should().Be("rejected", "'mailbox' is not an action");

        (await Star(proxy)).Headers.GetValues("X-Proxy-Region").Should().Equal(["control"], "the last good rules stay in force");
        proxy.Control.Requests.Should().HaveCount(2);
    }
}
