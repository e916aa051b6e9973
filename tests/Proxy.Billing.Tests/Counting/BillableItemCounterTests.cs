using System.Text;
using Proxy.Billing.Counting;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;

namespace Proxy.Billing.Tests.Counting;

/// <summary>One test per counting rule of reference §5.1/§5.2.</summary>
public sealed class BillableItemCounterTests
{
    [Fact]
    internal void Transactions_usage_counts_as_transactions()
    {
        Count(Buckets.Usage(1, 3, 3.0)).Should().Be(new BillableCount(DataCategory.Transaction, 3));
    }

    [Fact]
    internal void Spans_usage_counts_as_spans()
    {
        Count(Buckets.Usage(1, 3, 5.0, Buckets.SpansUsage)).Should().Be(new BillableCount(DataCategory.Span, 5));
    }

    [Theory]
    [InlineData(3.9, 3)]
    [InlineData(1.0, 1)]
    [InlineData(1.999999, 1)]
    [InlineData(123456789.5, 123456789)]
    internal void Quantity_is_the_value_truncated_toward_zero(double value, long quantity)
    {
        Count(Buckets.Usage(1, 3, value))!.Value.Quantity.Should().Be(quantity);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999)]
    [InlineData(-0.5)]
    [InlineData(-7.0)]
    [InlineData(-1e300)]
    internal void Nothing_is_billed_below_one(double value)
    {
        Count(Buckets.Usage(1, 3, value)).Should().BeNull();
    }

    [Fact]
    internal void An_integer_literal_is_counted_exactly()
    {
        var json = """{"org_id":1,"project_id":2,"metric_id":9223372036854775945,"value":9007199254740993,"mapping_meta":{}}""";

        Count(json)!.Value.Quantity.Should().Be(9007199254740993);
    }

    [Theory]
    [InlineData("[1.0,2.0]")]
    [InlineData("[]")]
    [InlineData("{\"min\":1,\"max\":1,\"sum\":1,\"count\":1,\"last\":1}")]
    [InlineData("{\"format\":\"array\",\"data\":[1,2]}")]
    [InlineData("null")]
    internal void Only_numeric_values_are_counted(string value)
    {
        var json = $$$"""{"org_id":1,"project_id":2,"metric_id":9223372036854775945,"value":{{{value}}},"mapping_meta":{}}""";

        Count(json).Should().BeNull();
    }

    [Fact]
    internal void Duration_distribution_is_not_billed()
    {
        Count(Buckets.Duration(1, 3, 1, 2, 3)).Should().BeNull();
    }

    [Fact]
    internal void Custom_metrics_are_not_billed_even_as_counters()
    {
        Count(Buckets.Payload("custom-counter-first-seen.json")).Should().BeNull();
    }

    [Fact]
    internal void The_usage_mri_under_another_metric_id_is_not_billed()
    {
        // Billing keys on the hard-coded indexer id, as the reference does, not on the MRI text.
        var json = """{"org_id":1,"project_id":2,"metric_id":137,"value":5,"mapping_meta":{"h":{"137":"c:transactions/usage@none"}}}""";

        Count(json).Should().BeNull();
    }

    [Fact]
    internal void A_value_beyond_64_bits_is_rejected_as_out_of_range()
    {
        var json = """{"org_id":1,"project_id":2,"metric_id":9223372036854775945,"value":1e19,"mapping_meta":{}}""";
        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out _).Should().BeTrue();

        BillableItemCounter.TryCount(bucket, out _, out var error).Should().BeFalse();

        error.Reason.Should().Be(PoisonReason.OutOfRange);
    }

    private static BillableCount? Count(string json)
    {
        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out var parseError).Should().BeTrue(parseError.ToString());
        BillableItemCounter.TryCount(bucket, out var count, out var error).Should().BeTrue(error.ToString());
        return count;
    }
}
