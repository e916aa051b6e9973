using System.Text;
using Proxy.Billing.Counting;
using Proxy.Billing.Tests.Support;

namespace Proxy.Billing.Tests.Counting;

public sealed class BucketParserTests
{
    [Theory]
    [InlineData("transactions-usage.json", 1, 3, 9223372036854775945UL, "Number", "c:transactions/usage@none")]
    [InlineData("spans-usage.json", 7, 42, 9223372036854776226UL, "Number", "c:spans/usage@none")]
    [InlineData("transactions-duration.json", 1, 3, 9223372036854775909UL, "Array", "d:transactions/duration@millisecond")]
    [InlineData("custom-distribution.json", 1, 3, 123UL, "Array", "d:custom/page_load@ms")]
    [InlineData("custom-counter-first-seen.json", 1, 4, 981UL, "Number", "c:custom/user_click@none")]
    [InlineData("custom-set.json", 5, 6, 77UL, "Array", "s:custom/unique_users@none")]
    [InlineData("custom-gauge.json", 5, 6, 78UL, "Object", "g:custom/queue_depth@none")]
    [InlineData("spans-duration-base64.json", 7, 42, 9223372036854776227UL, "Object", "d:spans/exclusive_time@millisecond")]
    [InlineData("sessions-set-array-series.json", 2, 8, 5UL, "Object", "s:sessions/user@none")]
    internal void Reads_the_billing_fields_of_real_payloads(string file, long orgId, long projectId, ulong metricId, string kind, string mri)
    {
        var ok = BucketParser.TryParse(Encoding.UTF8.GetBytes(Buckets.Payload(file)), out var bucket, out var error);

        ok.Should().BeTrue(error.ToString());
        bucket.OrgId.Should().Be(orgId);
        bucket.ProjectId.Should().Be(projectId);
        bucket.MetricId.Should().Be(metricId);
        bucket.ValueKind.ToString().Should().Be(kind);
        bucket.Mri.Should().Be(mri);
    }

    [Fact]
    internal void Keeps_metric_ids_above_2_pow_63_exact()
    {
        BucketParser.TryParse(Encoding.UTF8.GetBytes(Buckets.Payload("transactions-usage.json")), out var bucket, out _).Should().BeTrue();

        bucket.MetricId.Should().Be(9223372036854775808UL + 137);
        bucket.IntegerValue.Should().BeNull("3.0 is a float literal");
        bucket.NumberValue.Should().Be(3.0);
    }

    [Fact]
    internal void Keeps_an_integer_value_exact()
    {
        var json = """{"org_id":1,"project_id":2,"metric_id":9223372036854775945,"value":9007199254740993,"mapping_meta":{}}""";

        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out _).Should().BeTrue();

        bucket.IntegerValue.Should().Be(9007199254740993);
    }

    [Fact]
    internal void Resolves_the_mri_from_the_first_fetch_type_that_has_a_non_null_entry()
    {
        var json = """
            {"org_id":1,"project_id":2,"metric_id":10,"value":1,
             "mapping_meta":{"c":{"11":"c:custom/other@none"},"h":{"10":null},"d":{"10":"d:custom/first@ms"},"f":{"10":"d:custom/second@ms"}}}
            """;

        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out _).Should().BeTrue();

        bucket.Mri.Should().Be("d:custom/first@ms");
    }

    [Fact]
    internal void Resolves_the_mri_when_mapping_meta_comes_before_metric_id()
    {
        var json = """{"mapping_meta":{"h":{"10":null},"c":{"10":"d:custom/late@ms"}},"org_id":1,"project_id":2,"metric_id":10}""";

        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out _).Should().BeTrue();

        bucket.Mri.Should().Be("d:custom/late@ms");
    }

    [Theory]
    [InlineData("""{"mapping_meta":{"c":"x"},"org_id":1,"project_id":2,"metric_id":10}""")]
    [InlineData("""{"mapping_meta":{"c":{"10":false}},"org_id":1,"project_id":2,"metric_id":10}""")]
    internal void Checks_mapping_meta_that_comes_before_metric_id(string json)
    {
        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error).Should().BeFalse();

        error.Reason.Should().Be(PoisonReason.WrongType);
    }

    [Fact]
    internal void Resolves_no_mri_when_the_metric_id_is_not_in_mapping_meta()
    {
        var json = """{"org_id":1,"project_id":2,"metric_id":10,"mapping_meta":{"c":{"100":"d:custom/x@ms"}}}""";

        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out _).Should().BeTrue();

        bucket.Mri.Should().BeNull();
        bucket.ValueKind.Should().Be(BucketValueKind.Missing);
    }

    [Fact]
    internal void Unescapes_an_escaped_mri()
    {
        var json = """{"org_id":1,"project_id":2,"metric_id":10,"mapping_meta":{"c":{"10":"d:custom\/page\u005fload@ms"}}}""";

        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out _).Should().BeTrue();

        bucket.Mri.Should().Be("d:custom/page_load@ms");
    }

    [Fact]
    internal void Reads_keys_written_with_escapes()
    {
        var json = """{"org\u005fid":1,"project_id":2,"metric\u005fid":3,"\u0076alue":4,"mapping\u005fmeta":{"c":{"3":"c:custom/x@none"}}}""";

        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out var bucket, out var error).Should().BeTrue(error.ToString());

        bucket.Should().Be(new BillingBucket(1, 2, 3, BucketValueKind.Number, 4, 4, "c:custom/x@none"));
    }

    [Fact]
    internal void Ignores_keys_it_does_not_read_whatever_their_type()
    {
        var json = """{"tags":[1,{"a":null}],"timestamp":"soon","org_id":1,"project_id":2,"metric_id":3,"mapping_meta":{},"extra":{"deep":[[[]]]}}""";

        BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error).Should().BeTrue(error.ToString());
    }

    [Theory]
    [InlineData("", "invalid_json")]
    [InlineData("{", "invalid_json")]
    [InlineData("{\"org_id\":1,}", "invalid_json")]
    [InlineData("{\"org_id\":1,\"project_id\":2,\"metric_id\":3,\"mapping_meta\":{}} trailing", "invalid_json")]
    [InlineData("not json", "invalid_json")]
    [InlineData("[1,2,3]", "wrong_type")]
    [InlineData("\"a string\"", "wrong_type")]
    [InlineData("{\"org_id\":1,\"project_id\":2,\"mapping_meta\":{}}", "missing_key: missing key 'metric_id'")]
    [InlineData("{\"metric_id\":3,\"project_id\":2,\"mapping_meta\":{}}", "missing_key: missing key 'org_id'")]
    [InlineData("{\"metric_id\":3,\"org_id\":1,\"mapping_meta\":{}}", "missing_key: missing key 'project_id'")]
    [InlineData("{\"metric_id\":3,\"org_id\":1,\"project_id\":2}", "missing_key: missing key 'mapping_meta'")]
    [InlineData("{\"metric_id\":3,\"org_id\":1.5,\"project_id\":2,\"mapping_meta\":{}}", "wrong_type: org_id")]
    [InlineData("{\"metric_id\":3,\"org_id\":\"1\",\"project_id\":2,\"mapping_meta\":{}}", "wrong_type: org_id")]
    [InlineData("{\"metric_id\":3,\"org_id\":1,\"project_id\":2.0,\"mapping_meta\":{}}", "wrong_type: project_id")]
    [InlineData("{\"metric_id\":-3,\"org_id\":1,\"project_id\":2,\"mapping_meta\":{}}", "wrong_type: metric_id")]
    [InlineData("{\"metric_id\":18446744073709551616,\"org_id\":1,\"project_id\":2,\"mapping_meta\":{}}", "wrong_type: metric_id")]
    [InlineData("{\"metric_id\":\"3\",\"org_id\":1,\"project_id\":2,\"mapping_meta\":{}}", "wrong_type: metric_id")]
    [InlineData("{\"metric_id\":3,\"org_id\":1,\"project_id\":2,\"mapping_meta\":[]}", "wrong_type: mapping_meta")]
    [InlineData("{\"metric_id\":3,\"org_id\":1,\"project_id\":2,\"mapping_meta\":{\"c\":\"x\"}}", "wrong_type: mapping_meta values")]
    [InlineData("{\"metric_id\":3,\"org_id\":1,\"project_id\":2,\"mapping_meta\":{\"c\":{\"3\":7}}}", "wrong_type: the mapping_meta entry")]
    internal void Rejects_poison_with_its_reason(string json, string expected)
    {
        var ok = BucketParser.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error);

        ok.Should().BeFalse();
        error.ToString().Should().StartWith(expected);
    }

    [Fact]
    internal void Rejects_a_string_that_is_not_utf8()
    {
        byte[] json = [.. "{\"org_id\":1,\"project_id\":2,\"metric_id\":3,\"mapping_meta\":{\"c\":{\"3\":\""u8, 0xC3, 0x28, .. "\"}}}"u8];

        BucketParser.TryParse(json, out _, out var error).Should().BeFalse();

        error.Reason.Should().Be(PoisonReason.InvalidJson);
    }
}
