using System.Net;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Proxy.Testing;

namespace Proxy.Host.Tests.Otlp;

/// <summary>
/// The proxy exporting to an OTLP/HTTP receiver with nothing set but <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>: one webhook of
/// each mode, its spans under one trace id with the documented attributes, and the failure metrics. Region <c>us</c> is
/// dead. In the telemetry collection, which runs alone: no other test's spans or measurements are exported.
/// </summary>
[Collection(nameof(TelemetryTests))]
public sealed class OtlpExportTests(OtlpExportTests.Exporting proxy) : IClassFixture<OtlpExportTests.Exporting>
{
    public sealed class Exporting : IAsyncLifetime
    {
        public OtlpReceiver Receiver { get; private set; } = null!;

        public SiloStub Hooks { get; private set; } = null!;

        public ProxyHarness Proxy { get; private set; } = null!;

        public int Port => new Uri(Proxy.App.Urls.First()).Port;

        /// <summary>A sender that, like Slack or GitHub, sends no <c>traceparent</c>: each webhook starts its trace at the proxy.</summary>
        public HttpClient Sender { get; private set; } = null!;

        public Task<HttpResponseMessage> PostAsync(string path, string body, string contentType, IDictionary<string, string>? headers = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
            foreach (var (key, value) in headers ?? new Dictionary<string, string>())
            {
                request.Headers.TryAddWithoutValidation(key, value);
            }

            // The test's own client is in the proxy's process: its call is not traced, so no traceparent goes with it.
            using var untraced = SuppressInstrumentationScope.Begin();
            return Sender.SendAsync(request, TestContext.Current.CancellationToken);
        }

        public async ValueTask InitializeAsync()
        {
            Receiver = await OtlpReceiver.StartAsync();
            Hooks = await SiloStub.StartAsync("slack-hooks");
            Proxy = await ProxyHarness.StartAsync(["us"],
                $"OTEL_EXPORTER_OTLP_ENDPOINT={Receiver.Address.ToString().TrimEnd('/')}",
                $"Providers:slack:ResponseUrlPrefixes:0={Hooks.Address}");
            Sender = new HttpClient { BaseAddress = new Uri(Proxy.App.Urls.First()) };
        }

        public async ValueTask DisposeAsync()
        {
            Sender.Dispose();
            await Proxy.DisposeAsync();
            await Hooks.DisposeAsync();
            await Receiver.DisposeAsync();
        }

        /// <summary>Flushes every exporter until <paramref name="arrived"/> holds (the receiver has what was exported).</summary>
        public async Task<T> WaitForAsync<T>(Func<T?> arrived, string what)
            where T : class
        {
            var services = Proxy.App.Services;
            for (var attempt = 0; attempt < 150; attempt++)
            {
                services.GetRequiredService<TracerProvider>().ForceFlush();
                services.GetRequiredService<MeterProvider>().ForceFlush();
                services.GetRequiredService<LoggerProvider>().ForceFlush();
                if (arrived() is { } found)
                {
                    return found;
                }

                await Task.Delay(100, TestContext.Current.CancellationToken);
            }

            throw new Xunit.Sdk.XunitException($"never exported: {what}");
        }

        /// <summary>The spans of the trace whose routing span decided <paramref name="mode"/>, once <paramref name="complete"/> says all are in.</summary>
        public Task<List<OtlpSpan>> TraceOfAsync(string mode, Func<List<OtlpSpan>, bool> complete) => WaitForAsync(() =>
        {
            var route = Receiver.Spans.FirstOrDefault(s => s.Name == "webhook route" && (string?)s["proxy.mode"] == mode);
            var trace = route is null ? null : Receiver.Spans.Where(s => s.TraceId == route.TraceId).ToList();
            // The enclosing spans (the incoming request's and YARP's) end after the routing span and the answer: a flush
            // can hold the inner spans without them, so they are waited for too.
            return trace is not null && complete(trace)
                && trace.Any(s => s.Scope == "Microsoft.AspNetCore" && s.Kind == OtlpSpan.KindServer)
                && trace.Any(s => s.Scope == "Yarp.ReverseProxy") ? trace : null;
        }, $"the spans of a {mode} webhook");

        /// <summary>The proxy's incoming-request span, YARP's forwarder span and the routing span, each once.</summary>
        public (OtlpSpan Request, OtlpSpan Forwarder, OtlpSpan Route) Backbone(List<OtlpSpan> trace, string path)
        {
            var request = trace.Should().ContainSingle(s => s.Scope == "Microsoft.AspNetCore" && s.Kind == OtlpSpan.KindServer
                && Equals(s["server.port"], (long)Port)).Subject;
            request["url.path"].Should().Be(path);
            request.ParentSpanId.Should().BeEmpty("the webhook starts the trace");
            var forwarder = trace.Should().ContainSingle(s => s.Scope == "Yarp.ReverseProxy").Subject;
            forwarder.ParentSpanId.Should().Be(request.SpanId);
            var route = trace.Should().ContainSingle(s => s.Name == "webhook route").Subject;
            route.ParentSpanId.Should().Be(forwarder.SpanId);
            route["proxy.provider"].Should().NotBeNull();
            trace.Should().OnlyContain(s => s.Service == "edge-proxy");
            return (request, forwarder, route);
        }
    }

    private const string Form = "application/x-www-form-urlencoded";

    private static string Event(string team) => $$$"""{"type":"event_callback","team_id":"{{{team}}}","event":{"type":"message","text":"hi"}}""";

    [Fact]
    public async Task A_control_webhook_is_one_trace_from_the_request_to_the_call_to_control()
    {
        (await proxy.PostAsync("/extensions/slack/event/", """{"type":"url_verification","challenge":"abc"}""", "application/json"))
            .StatusCode.Should().Be(HttpStatusCode.OK);

        var trace = await proxy.TraceOfAsync("control", t => t.Any(s => s.Name == "region call"));

        var (_, forwarder, route) = proxy.Backbone(trace, "/extensions/slack/event/");
        forwarder["proxy.cluster_id"].Should().Be("control");
        route["proxy.provider"].Should().Be("slack");
        var call = trace.Should().ContainSingle(s => s.Name == "region call").Subject;
        call.ParentSpanId.Should().Be(route.SpanId);
        call.Kind.Should().Be(OtlpSpan.KindClient);
        call["proxy.region"].Should().Be("control");
        call["proxy.mode"].Should().Be("control");
        call["http.response.status_code"].Should().Be(200L);
        call["server.address"].Should().Be("127.0.0.1");
        call["server.port"].Should().Be((long)proxy.Proxy.Control.Address.Port);
    }

    [Fact]
    public async Task A_first_region_webhook_names_the_regions_cluster_on_YARPs_span()
    {
        (await proxy.PostAsync("/extensions/slack/event/", Event("TEU"), "application/json")).StatusCode.Should().Be(HttpStatusCode.OK);

        var trace = await proxy.TraceOfAsync("first_region", t => t.Any(s => s.Name == "region call"));

        var (_, forwarder, route) = proxy.Backbone(trace, "/extensions/slack/event/");
        forwarder["proxy.cluster_id"].Should().Be("region-eu", "the forward went to eu's cluster, not the route's control cluster");
        forwarder["proxy.destination_id"].Should().Be("d1");
        route["proxy.regions"].Should().Be("eu");
        var call = trace.Should().ContainSingle(s => s.Name == "region call").Subject;
        call["proxy.region"].Should().Be("eu");
        call["http.response.status_code"].Should().Be(200L);
        trace.Should().Contain(s => s.Scope == "System.Net.Http" && s.Kind == OtlpSpan.KindClient && s.ParentSpanId == call.SpanId,
            "the HTTP call itself is under the region call");
    }

    [Fact]
    public async Task A_fan_out_has_a_span_per_region_and_a_dead_region_is_counted_by_its_error_type()
    {
        var payload = Uri.EscapeDataString("""{"type":"block_actions","team":{"id":"TALL"},"actions":[{"value":"resolve"}]}""");
        (await proxy.PostAsync("/extensions/slack/action/", "payload=" + payload, Form)).StatusCode.Should().Be(HttpStatusCode.OK);

        var trace = await proxy.TraceOfAsync("all_regions", t => t.Count(s => s.Name == "region call") == 3);

        var (_, _, route) = proxy.Backbone(trace, "/extensions/slack/action/");
        route["proxy.regions"].Should().Be("ap,eu,us");
        var calls = trace.Where(s => s.Name == "region call").ToList();
        calls.Should().OnlyContain(c => c.ParentSpanId == route.SpanId && (string?)c["proxy.mode"] == "all_regions"
            && (string?)c["proxy.provider"] == "slack");
        calls.Select(c => c["proxy.region"]).Should().BeEquivalentTo(["ap", "eu", "us"]);
        var dead = calls.Single(c => (string?)c["proxy.region"] == "us");
        dead.StatusCode.Should().Be(OtlpSpan.StatusError);
        dead["error.type"].Should().Be("connection_error");
        dead["http.response.status_code"].Should().BeNull();

        var failure = await proxy.WaitForAsync(() => proxy.Receiver.Points.FirstOrDefault(p => p.Metric == "proxy.region.failures"
            && (string?)p["proxy.region"] == "us" && (string?)p["proxy.mode"] == "all_regions"), "proxy.region.failures");
        failure.Scope.Should().Be("EdgeProxy.Routing");
        failure.Unit.Should().Be("{failure}");
        failure["error.type"].Should().Be("connection_error");
        failure["proxy.provider"].Should().Be("slack");
        failure.Value.Should().BeGreaterThanOrEqualTo(1);
        var duration = await proxy.WaitForAsync(() => proxy.Receiver.Points.FirstOrDefault(p => p.Metric == "proxy.region.request.duration"
            && (string?)p["proxy.region"] == "us" && (string?)p["error.type"] == "connection_error"), "the failed call's duration");
        duration.Unit.Should().Be("s");
        duration["http.response.status_code"].Should().BeNull();

        var log = await proxy.WaitForAsync(() => proxy.Receiver.Logs.FirstOrDefault(l => l.TraceId == route.TraceId), "a log line of the fan-out");
        log.Service.Should().Be("edge-proxy");
        log.Body.Should().Contain("{Region}", "logs are exported with their message template and the trace they belong to");
    }

    [Fact]
    public async Task A_mailbox_webhook_is_accepted_in_its_trace_and_each_delivery_is_a_trace_of_its_own_linked_to_the_accept()
    {
        const string Push = """{"ref":"refs/heads/main","repository":{"id":1296269},"installation":{"id":2},"sender":{"login":"octocat"}}""";
        (await proxy.PostAsync("/extensions/github/webhook/", Push, "application/json", new Dictionary<string, string>
        {
            ["X-GitHub-Event"] = "push",
            ["X-GitHub-Delivery"] = Guid.NewGuid().ToString(),
        })).StatusCode.Should().Be(HttpStatusCode.Accepted);

        var trace = await proxy.TraceOfAsync("mailbox", t => t.Any(s => s.Name == "mailbox.accept"));
        var (_, _, route) = proxy.Backbone(trace, "/extensions/github/webhook/");
        route["proxy.provider"].Should().Be("github");
        var accept = trace.Should().ContainSingle(s => s.Name == "mailbox.accept").Subject;
        accept.ParentSpanId.Should().Be(route.SpanId);
        accept.Kind.Should().Be(OtlpSpan.KindProducer);
        accept["messaging.system"].Should().Be("edge_proxy.mailbox");
        accept["messaging.operation.type"].Should().Be("send");
        var mailbox = accept["messaging.destination.name"].Should().BeOfType<string>().Which;
        mailbox.Should().StartWith("github:", "the mailbox is named by provider first");
        route["messaging.destination.name"].Should().Be(mailbox);
        accept["messaging.batch.message_count"].Should().Be(2L);

        var deliveries = await proxy.WaitForAsync(() =>
        {
            var linked = proxy.Receiver.Spans.Where(s => s.Name == "mailbox.deliver" && s.Links.Contains((accept.TraceId, accept.SpanId))).ToList();
            return linked.Count >= 2 ? linked : null;
        }, "a mailbox.deliver span per region");
        deliveries.Should().OnlyContain(d => d.TraceId != accept.TraceId && d.ParentSpanId == "" && d.Kind == OtlpSpan.KindConsumer
            && (string?)d["messaging.operation.type"] == "process" && (string?)d["messaging.destination.name"] == mailbox
            && d["messaging.message.id"] != null && (long?)d["proxy.mailbox.attempt"] == 1);
        var delivered = deliveries.Single(d => (string?)d["proxy.region"] == "eu");
        delivered["http.response.status_code"].Should().Be(200L);
        var failed = deliveries.Single(d => (string?)d["proxy.region"] == "us");
        failed.StatusCode.Should().Be(OtlpSpan.StatusError);
        failed["error.type"].Should().Be("host_error", "the mailbox's own failure names (docs/MAILBOX.md)");

        var counted = await proxy.WaitForAsync(() => proxy.Receiver.Points.FirstOrDefault(p => p.Metric == "mailbox.delivery.failures"
            && (string?)p["proxy.region"] == "us"), "mailbox.delivery.failures");
        counted.Scope.Should().Be("EdgeProxy.Mailbox");
        counted["error.type"].Should().Be("host_error");
        (await proxy.WaitForAsync(() => proxy.Receiver.Points.FirstOrDefault(p => p.Metric == "mailbox.deliveries"
            && (string?)p["proxy.region"] == "eu"), "mailbox.deliveries"))["proxy.outcome"].Should().Be("ok");
    }

    [Fact]
    public async Task A_deferred_webhook_keeps_its_trace_through_the_later_region_call_and_the_posted_answer()
    {
        var hook = new Uri(proxy.Hooks.Address, "commands/otlp").ToString();
        (await proxy.PostAsync("/extensions/slack/commands/", $"team_id=TALL&command=%2Fsentry&text=help&response_url={Uri.EscapeDataString(hook)}", Form))
            .StatusCode.Should().Be(HttpStatusCode.OK);

        var trace = await proxy.TraceOfAsync("deferred", t => t.Any(s => s.Name == "deferred response"));

        var (_, _, route) = proxy.Backbone(trace, "/extensions/slack/commands/");
        var deferred = trace.Should().ContainSingle(s => s.Name == "deferred response").Subject;
        deferred.ParentSpanId.Should().Be(route.SpanId);
        deferred["proxy.outcome"].Should().Be("posted");
        deferred["proxy.region"].Should().Be("ap");
        var call = trace.Should().ContainSingle(s => s.Name == "region call").Subject;
        call.ParentSpanId.Should().Be(deferred.SpanId);
        call["proxy.mode"].Should().Be("deferred");
        call["proxy.region"].Should().Be("ap");
        call["http.response.status_code"].Should().Be(200L);
    }

    [Fact]
    public async Task Every_signal_goes_over_http_protobuf_to_its_own_path()
    {
        (await proxy.PostAsync("/extensions/slack/event/", Event("TEU"), "application/json")).StatusCode.Should().Be(HttpStatusCode.OK);
        // The region us is down: its failed forward is logged as a warning, so this test has a log record of its own
        // whatever the other tests of the class did before it.
        (await proxy.PostAsync("/extensions/slack/event/", Event("TUS"), "application/json")).StatusCode.Should().Be(HttpStatusCode.BadGateway);

        var paths = await proxy.WaitForAsync(() =>
        {
            var seen = proxy.Receiver.Requests.Where(r => r.Items > 0).Select(r => r.Path).Distinct().Order().ToList();
            return seen.Count == 3 ? seen : null;
        }, "traces, metrics and logs");

        paths.Should().Equal("/v1/logs", "/v1/metrics", "/v1/traces");
        proxy.Receiver.Requests.Should().OnlyContain(r => r.ContentType == "application/x-protobuf", "nothing went to another path or as gRPC");
    }
}
