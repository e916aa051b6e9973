using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Telemetry;
using Proxy.Billing.Tests.Support;
using Proxy.Testing;

namespace Proxy.Billing.Tests.Telemetry;

[Collection(RedisTests.Name)]
public sealed class BillingMetricsTests(RedisServer redis)
{
    private readonly long _org = Ids.NewOrganization();

    [Fact]
    internal async Task Counts_consumed_messages_outcomes_by_category_dead_letters_events_duration_and_lag()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        var meters = harness.Services.GetRequiredService<IMeterFactory>();
        harness.Services.GetRequiredService<BillingMetrics>().ObserveLagOf(harness.Transport);
        using var consumed = new MetricCollector<long>(meters, BillingMetrics.MeterName, "messaging.client.consumed.messages");
        using var outcomes = new MetricCollector<long>(meters, BillingMetrics.MeterName, "billing.outcomes.produced");
        using var quantity = new MetricCollector<long>(meters, BillingMetrics.MeterName, "billing.outcomes.quantity");
        using var deadLetters = new MetricCollector<long>(meters, BillingMetrics.MeterName, "billing.dead_letters");
        using var events = new MetricCollector<long>(meters, BillingMetrics.MeterName, "billing.first_custom_metric.events");
        using var duration = new MetricCollector<double>(meters, BillingMetrics.MeterName, "messaging.process.duration");
        using var lag = new MetricCollector<long>(meters, BillingMetrics.MeterName, "messaging.consumer.lag");
        await harness.AddProjectAsync(9);

        await harness.AddBucketsAsync(Buckets.Usage(_org, 1, 3), Buckets.Usage(_org, 1, 4, Buckets.SpansUsage),
            Buckets.Usage(_org, 1, 5), "[]", Buckets.Custom(_org, 9));
        await harness.DrainAsync();

        consumed.GetMeasurementSnapshot().EvaluateAsCounter().Should().Be(5);
        consumed.LastMeasurement!.Tags.Should().Contain(new KeyValuePair<string, object?>("messaging.system", "redis"))
            .And.Contain(new KeyValuePair<string, object?>("messaging.destination.name", harness.Options.Redis.InputStream))
            .And.Contain(new KeyValuePair<string, object?>("messaging.consumer.group.name", "billing-metrics-consumer"));
        outcomes.GetMeasurementSnapshot().ContainsTags("proxy.billing.category").Should().HaveCount(3);
        outcomes.GetMeasurementSnapshot().Where(m => m.Tags["proxy.billing.category"] as string == "transaction").EvaluateAsCounter().Should().Be(2);
        outcomes.GetMeasurementSnapshot().Where(m => m.Tags["proxy.billing.category"] as string == "span").EvaluateAsCounter().Should().Be(1);
        outcomes.LastMeasurement!.Tags["proxy.billing.outcome"].Should().Be("accepted");
        quantity.GetMeasurementSnapshot().EvaluateAsCounter().Should().Be(12);
        deadLetters.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags["error.type"].Should().Be("wrong_type");
        events.GetMeasurementSnapshot().EvaluateAsCounter().Should().Be(1);
        duration.GetMeasurementSnapshot().Should().NotBeEmpty();
        duration.LastMeasurement!.Value.Should().BeGreaterThanOrEqualTo(0);

        lag.RecordObservableInstruments();
        lag.LastMeasurement!.Value.Should().Be(5, "lag was last observed before the batch was read");
    }

    [Fact]
    internal void The_meter_name_is_public_for_the_host()
    {
        BillingMetrics.MeterName.Should().Be("EdgeProxy.Billing");
    }
}
