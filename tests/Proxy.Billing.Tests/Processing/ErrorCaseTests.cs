using System.Text;
using Proxy.Billing.Tests.Support;
using Proxy.Billing.Transport;

namespace Proxy.Billing.Tests.Processing;

/// <summary>
/// Reference §8, row by row. Where the reference raises (and its consumer crashes and replays from the last
/// commit), ours dead-letters the message and goes on: those tests say so in their names.
/// </summary>
public sealed class ErrorCaseTests
{
    private const string Usage = "\"metric_id\":9223372036854775945";

    [Fact]
    internal void Invalid_json_is_dead_lettered_where_the_reference_crashes()
    {
        var evaluation = Evaluation.Of("{\"org_id\": 1, \"project_id\": ");

        evaluation.Outputs.Should().ContainSingle();
        evaluation.DeadLetterError.Should().StartWith("invalid_json: ");
        evaluation.Single(Destination.DeadLetters).Payload.ToArray().Should().Equal(Encoding.UTF8.GetBytes("{\"org_id\": 1, \"project_id\": "));
    }

    [Theory]
    [InlineData("metric_id", "{\"org_id\":1,\"project_id\":2,\"value\":3,\"mapping_meta\":{}}")]
    [InlineData("org_id", "{" + Usage + ",\"project_id\":2,\"value\":3,\"mapping_meta\":{}}")]
    [InlineData("project_id", "{" + Usage + ",\"org_id\":1,\"value\":3,\"mapping_meta\":{}}")]
    [InlineData("mapping_meta", "{" + Usage + ",\"org_id\":1,\"project_id\":2,\"value\":3}")]
    [InlineData("value", "{" + Usage + ",\"org_id\":1,\"project_id\":2,\"mapping_meta\":{}}")]
    internal void A_missing_required_key_is_dead_lettered_where_the_reference_raises_KeyError(string key, string json)
    {
        var evaluation = Evaluation.Of(json);

        evaluation.Outputs.Should().ContainSingle();
        evaluation.DeadLetterError.Should().Be($"missing_key: missing key '{key}'");
    }

    [Fact]
    internal void A_missing_value_is_fine_when_the_metric_is_not_billed()
    {
        var evaluation = Evaluation.Of("{\"metric_id\":5,\"org_id\":1,\"project_id\":2,\"mapping_meta\":{}}");

        evaluation.Outputs.Should().BeEmpty();
    }

    [Fact]
    internal void An_unknown_metric_id_gives_no_outcome_and_no_flag()
    {
        var evaluation = Evaluation.Of("{\"metric_id\":5,\"org_id\":1,\"project_id\":2,\"value\":9,\"mapping_meta\":{\"h\":{\"5\":\"s:sessions/user@none\"}}}");

        evaluation.Outputs.Should().BeEmpty();
        evaluation.Sightings.Should().BeEmpty();
    }

    [Fact]
    internal void A_metric_id_missing_from_mapping_meta_is_no_error()
    {
        var evaluation = Evaluation.Of("{\"metric_id\":5,\"org_id\":1,\"project_id\":2,\"value\":[1],\"mapping_meta\":{\"c\":{\"6\":\"d:custom/x@ms\"}}}");

        evaluation.Outputs.Should().BeEmpty();
        evaluation.Sightings.Should().BeEmpty();
    }

    [Theory]
    [InlineData("custom")]
    [InlineData("d:custom")]
    [InlineData("d:custom/x")]
    [InlineData("")]
    internal void A_malformed_mri_is_no_error_and_no_flag(string mri)
    {
        var evaluation = Evaluation.Of($"{{\"metric_id\":5,\"org_id\":1,\"project_id\":2,\"mapping_meta\":{{\"c\":{{\"5\":\"{mri}\"}}}}}}");

        evaluation.Outputs.Should().BeEmpty();
        evaluation.Sightings.Should().BeEmpty();
    }

    [Theory]
    [InlineData("[3]")]
    [InlineData("{\"min\":3,\"max\":3,\"sum\":3,\"count\":1,\"last\":3}")]
    [InlineData("null")]
    internal void A_usage_value_that_is_a_list_dict_or_null_gives_no_outcome(string value)
    {
        Evaluation.Of($"{{{Usage},\"org_id\":1,\"project_id\":2,\"value\":{value},\"mapping_meta\":{{}}}}").Outputs.Should().BeEmpty();
    }

    [Theory]
    [InlineData("\"3\"")]
    [InlineData("\"abc\"")]
    internal void A_usage_value_that_is_a_string_is_dead_lettered_where_the_reference_counts_or_crashes(string value)
    {
        // int("3") counts 3 and int("abc") raises ValueError in the reference; the issue bills numeric values only.
        var evaluation = Evaluation.Of($"{{{Usage},\"org_id\":1,\"project_id\":2,\"value\":{value},\"mapping_meta\":{{}}}}");

        evaluation.DeadLetterError.Should().Be("wrong_type: value of a usage counter must be a number");
    }

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    internal void A_usage_value_that_is_a_boolean_is_dead_lettered_where_the_reference_counts_it(string value)
    {
        var evaluation = Evaluation.Of($"{{{Usage},\"org_id\":1,\"project_id\":2,\"value\":{value},\"mapping_meta\":{{}}}}");

        evaluation.DeadLetterError.Should().StartWith("wrong_type: ");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0.99")]
    [InlineData("-4")]
    internal void A_value_below_one_after_truncation_gives_no_outcome(string value)
    {
        Evaluation.Of($"{{{Usage},\"org_id\":1,\"project_id\":2,\"value\":{value},\"mapping_meta\":{{}}}}").Outputs.Should().BeEmpty();
    }

    [Theory]
    [InlineData("\"org_id\":1.0,\"project_id\":2")]
    [InlineData("\"org_id\":1,\"project_id\":\"2\"")]
    [InlineData("\"org_id\":null,\"project_id\":2")]
    internal void An_org_or_project_id_that_is_not_an_integer_is_dead_lettered_where_the_reference_asserts(string ids)
    {
        var evaluation = Evaluation.Of($"{{{Usage},{ids},\"value\":3,\"mapping_meta\":{{}}}}");

        evaluation.DeadLetterError.Should().StartWith("wrong_type: ");
    }

    [Fact]
    internal void A_dead_letter_is_the_only_output_of_its_input()
    {
        var evaluation = Evaluation.Of($"{{{Usage},\"org_id\":1,\"project_id\":2,\"value\":true,\"mapping_meta\":{{\"c\":{{\"9223372036854775945\":\"c:custom/x@none\"}}}}}}");

        evaluation.Outputs.Should().ContainSingle();
        evaluation.Sightings.Should().BeEmpty();
    }

    [Fact]
    internal void An_empty_message_is_dead_lettered()
    {
        Evaluation.Of([]).DeadLetterError.Should().StartWith("invalid_json: ");
    }
}
