using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Telemetry;

public sealed class MailboxTelemetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Saved_entries_deliveries_and_durations_are_measured()
    {
        var delivery = new ScriptedDelivery(TimeProvider.System, (entry, _) =>
            Task.FromResult(DeliveryResult.Answered(entry.Region == "us" && entry.Attempts == 1 ? 503 : 200)));
        using var harness = new DrainerHarness(delivery);
        using var saved = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.entries.saved");
        using var deliveries = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.deliveries");
        using var failures = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.delivery.failures");
        using var duration = new MetricCollector<double>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.delivery.duration");
        using var age = new MetricCollector<double>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.delivery.age");
        await harness.Store.AppendAsync([Entry("github:1", "us", Start), Entry("github:1", "de", Start)], Ct);

        await harness.RunOnceAsync();
        harness.Time.Advance(TimeSpan.FromMinutes(4.2));
        await harness.RunOnceAsync();

        saved.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(2);
        deliveries.GetMeasurementSnapshot().Select(m => $"{m.Tags["proxy.outcome"]}/{m.Tags["proxy.region"]}").Should().BeEquivalentTo(
            ["retry/us", "ok/de", "ok/us"]);
        failures.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags.Should().Contain(new KeyValuePair<string, object?>("error.type", "server_error"));
        duration.GetMeasurementSnapshot().Select(m => m.Tags["http.response.status_code"]).Should().BeEquivalentTo(new object[] { 503, 200, 200 });
        age.GetMeasurementSnapshot().Select(m => m.Value).Should().Contain(4.2 * 60, "the retried entry waited out its backoff");
    }

    [Fact]
    public async Task The_gauges_report_pending_dead_letters_and_oldest_age_from_the_store()
    {
        using var harness = new DrainerHarness(new ScriptedDelivery(TimeProvider.System));
        using var pending = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.pending");
        using var dead = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.dead_letters");
        using var oldest = new MetricCollector<double>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.oldest_pending.age");
        var gone = Entry("github:2", "us", Start);
        await harness.Store.AppendAsync([Entry("github:1", "us", Start), Entry("github:1", "de", Start)], Ct);
        await harness.Store.AppendAsync([gone], Ct);
        await harness.Store.DeadLetterAsync(gone.Lane, gone.DeliveryId, new DeadLetterCause("not_found", 404, null), Ct);
        var sampler = new MailboxGaugeSampler(harness.Store, harness.Metrics, new FixedOptionsMonitor<MailboxOptions>(harness.Options),
            harness.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<MailboxGaugeSampler>.Instance);

        await sampler.SampleAsync(Ct);
        harness.Time.Advance(TimeSpan.FromSeconds(90));
        pending.RecordObservableInstruments();
        dead.RecordObservableInstruments();
        oldest.RecordObservableInstruments();

        pending.LastMeasurement!.Value.Should().Be(2);
        dead.LastMeasurement!.Value.Should().Be(1);
        oldest.LastMeasurement!.Value.Should().Be(90);
    }

    [Fact]
    public async Task Each_delivery_is_a_span_linked_to_the_span_that_accepted_the_webhook()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MailboxTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using var accepting = new Activity("accept").SetIdFormat(ActivityIdFormat.W3C).Start();
        var entries = MailboxEntry.ForRegions("github:1", ["us"], "POST", "/hook", [], "{}"u8.ToArray(), Start);
        accepting.Stop();
        using var harness = new DrainerHarness(new ScriptedDelivery(TimeProvider.System, (_, _) => Task.FromResult(DeliveryResult.Answered(404))));
        await harness.Store.AppendAsync(entries, Ct);

        await harness.RunOnceAsync();

        var span = spans.Should().ContainSingle(s => s.GetTagItem("messaging.message.id") as string == entries[0].DeliveryId).Subject;
        span.DisplayName.Should().Be(MailboxTelemetry.DeliverySpanName);
        span.TraceId.Should().NotBe(accepting.TraceId, "a delivery is a trace of its own");
        span.Links.Should().ContainSingle().Which.Context.Should().Match<ActivityContext>(c => c.TraceId == accepting.TraceId && c.SpanId == accepting.SpanId);
        span.GetTagItem("messaging.destination.name").Should().Be("github:1");
        span.GetTagItem("proxy.region").Should().Be("us");
        span.GetTagItem("proxy.mailbox.attempt").Should().Be(1);
        span.GetTagItem("http.response.status_code").Should().Be(404);
        span.GetTagItem("error.type").Should().Be("not_found");
        span.Status.Should().Be(ActivityStatusCode.Error);
    }
}
