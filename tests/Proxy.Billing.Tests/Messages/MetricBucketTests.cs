using System.Text.Json;
using System.Text.Json.Nodes;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;

namespace Proxy.Billing.Tests.Messages;

public sealed class MetricBucketTests
{
    [Theory]
    [InlineData("transactions-usage.json", typeof(CounterValue))]
    [InlineData("transactions-duration.json", typeof(ListValue))]
    [InlineData("custom-set.json", typeof(ListValue))]
    [InlineData("custom-gauge.json", typeof(GaugeValue))]
    [InlineData("spans-duration-base64.json", typeof(EncodedSeriesValue))]
    [InlineData("sessions-set-array-series.json", typeof(EncodedSeriesValue))]
    internal void Round_trips_real_payloads_through_the_source_generated_context(string file, Type valueType)
    {
        var json = Buckets.Payload(file);

        var bucket = JsonSerializer.Deserialize(json, BillingJsonContext.Default.MetricBucket)!;
        var written = JsonSerializer.Serialize(bucket, BillingJsonContext.Default.MetricBucket);

        bucket.Value.Should().BeOfType(valueType);
        JsonNode.DeepEquals(JsonNode.Parse(written), JsonNode.Parse(json)).Should().BeTrue(written);
    }

    [Fact]
    internal void Reads_the_metric_id_as_unsigned()
    {
        var bucket = JsonSerializer.Deserialize(Buckets.Payload("transactions-usage.json"), BillingJsonContext.Default.MetricBucket)!;

        bucket.MetricId.Should().Be(9223372036854775945UL);
        bucket.MappingMeta["h"]["9223372036854775945"].Should().Be("c:transactions/usage@none");
    }

    [Fact]
    internal void Reads_a_gauge()
    {
        var bucket = JsonSerializer.Deserialize(Buckets.Payload("custom-gauge.json"), BillingJsonContext.Default.MetricBucket)!;

        bucket.Value.Should().Be(new GaugeValue(1.0, 9.5, 21.5, 4, 3.0));
    }
}
