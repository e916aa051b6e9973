using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Counting;
using Proxy.Billing.Messages;

namespace Proxy.Billing.Tests.Counting;

public sealed class OutcomeWriterTests
{
    private static readonly DateTimeOffset Now = new DateTimeOffset(2024, 5, 1, 12, 34, 56, TimeSpan.Zero).AddTicks(7_890_120);

    [Fact]
    internal void Writes_the_nine_fields_in_the_reference_order()
    {
        var writer = new OutcomeWriter(new FakeTimeProvider(Now));

        var json = Encoding.UTF8.GetString(OutcomeWriter.Serialize(writer.Accepted(1, 3, new BillableCount(DataCategory.Transaction, 3))));

        json.Should().Be("""{"timestamp":"2024-05-01T12:34:56.789012Z","org_id":1,"project_id":3,"key_id":null,"outcome":0,"reason":null,"event_id":null,"category":2,"quantity":3}""");
    }

    [Fact]
    internal void Timestamp_is_the_processing_time_in_utc_with_six_fractional_digits()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2031, 12, 31, 23, 59, 59, TimeSpan.FromHours(2)));
        var writer = new OutcomeWriter(time);

        var first = writer.Accepted(1, 3, new BillableCount(DataCategory.Span, 1));
        time.Advance(TimeSpan.FromTicks(10));
        var second = writer.Accepted(1, 3, new BillableCount(DataCategory.Span, 1));

        Field(first, "timestamp").Should().Be("2031-12-31T21:59:59.000000Z");
        Field(second, "timestamp").Should().Be("2031-12-31T21:59:59.000001Z");
    }

    [Fact]
    internal void Reads_back_through_the_source_generated_context()
    {
        var outcome = new OutcomeWriter(new FakeTimeProvider(Now)).Accepted(9, 8, new BillableCount(DataCategory.Span, 77));

        var back = JsonSerializer.Deserialize(OutcomeWriter.Serialize(outcome), BillingJsonContext.Default.Outcome);

        back.Should().Be(outcome);
    }

    [Theory]
    [InlineData(OutcomeKind.Accepted, true)]
    [InlineData(OutcomeKind.RateLimited, true)]
    [InlineData(OutcomeKind.Filtered, false)]
    [InlineData(OutcomeKind.Invalid, false)]
    [InlineData(OutcomeKind.Abuse, false)]
    [InlineData(OutcomeKind.ClientDiscard, false)]
    [InlineData(OutcomeKind.CardinalityLimited, false)]
    internal void Only_accepted_and_rate_limited_are_billing_outcomes(OutcomeKind kind, bool billing)
    {
        Outcome.IsBilling(kind).Should().Be(billing);
    }

    [Fact]
    internal void The_first_custom_metric_event_has_org_project_and_timestamp()
    {
        var received = new OutcomeWriter(new FakeTimeProvider(Now)).FirstCustomMetric(1, 3);

        Encoding.UTF8.GetString(OutcomeWriter.Serialize(received))
            .Should().Be("""{"org_id":1,"project_id":3,"timestamp":"2024-05-01T12:34:56.789012Z"}""");
    }

    private static string Field(Outcome outcome, string name) =>
        JsonDocument.Parse(OutcomeWriter.Serialize(outcome)).RootElement.GetProperty(name).GetString()!;
}
