using System.Collections.Concurrent;
using System.Diagnostics;
using OpenTelemetry.Trace;
using Proxy.Routing.Telemetry;

namespace Proxy.Host.Tests;

/// <summary>Activity listeners are process-wide, so these tests run alone (no other test's spans are collected).</summary>
[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryRunsAlone;

[Collection(nameof(TelemetryTests))]
public class TelemetryTests
{
    [Fact]
    public async Task Each_routing_decision_and_each_fan_out_leg_is_a_span_with_its_attributes()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RoutingActivity.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var proxy = await ProxyHarness.StartAsync(deadRegions: ["us"]);

        await proxy.PostFormAsync("/extensions/slack/action/",
            "payload=" + Uri.EscapeDataString("""{"team":{"id":"TALL"},"actions":[{"value":"resolve"}]}"""));
        await Task.Delay(500);

        var route = spans.Where(s => s.OperationName == "webhook route").Should().ContainSingle().Subject;
        route.GetTagItem("proxy.provider").Should().Be("slack");
        route.GetTagItem("proxy.mode").Should().Be("all_regions");
        route.GetTagItem("proxy.regions").Should().Be("ap,eu,us");
        var legs = spans.Where(s => s.OperationName == "region call").ToList();
        legs.Select(l => l.GetTagItem("proxy.region")).Should().BeEquivalentTo(["ap", "eu", "us"]);
        legs.Should().OnlyContain(l => l.ParentSpanId == route.SpanId);
        var failed = legs.Single(l => (string?)l.GetTagItem("proxy.region") == "us");
        failed.Status.Should().Be(ActivityStatusCode.Error);
        failed.GetTagItem("error.type").Should().Be("connection_error");
    }

    [Fact]
    public async Task Nothing_is_exported_unless_an_OTLP_endpoint_is_set()
    {
        await using var quiet = await ProxyHarness.StartAsync();
        quiet.App.Services.GetService<TracerProvider>().Should().BeNull();

        await using var exporting = await ProxyHarness.StartAsync(null, "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317");
        exporting.App.Services.GetService<TracerProvider>().Should().NotBeNull();
    }
}
