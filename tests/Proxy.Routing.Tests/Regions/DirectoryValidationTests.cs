using System.Text;
using Proxy.Routing.Regions;

namespace Proxy.Routing.Tests.Regions;

/// <summary>A directory that would route wrongly is rejected at load, and the error says where.</summary>
public class DirectoryValidationTests
{
    private const string Org = """{"Id":1,"Slug":"a","Region":"us","Status":"active"}""";

    [Theory]
    [InlineData("""{"Organizations":[{"Id":1,"Slug":"a","Region":"us","Status":"active"},{"Id":1,"Slug":"b","Region":"eu","Status":"active"}]}""", "Organizations[1]: duplicate organization id 1")]
    [InlineData("""{"Organizations":[{"Id":1,"Slug":"a","Region":"","Status":"active"}]}""", "Organizations[0] (id 1): Region is required")]
    [InlineData("""{"Organizations":[{"Id":1,"Slug":"a","Region":"us"}]}""", "Organizations[0] (id 1): Status is required")]
    [InlineData("""{"Organizations":[null]}""", "Organizations[0] is null")]
    [InlineData("""{"Organizations":[{"Slug":"a","Region":"us","Status":"active"}]}""", "directory.json line 1, column 19: Organizations[0]: Id is required")]
    [InlineData("""{"Organizations":[],"Integrations":[{"Id":10,"Provider":"slack","ExternalId":"T1","Status":"active","Organizations":[7]}]}""", "Integrations[0] (id 10): organization 7 is not in Organizations")]
    [InlineData("""{"Integrations":[{"Id":10,"Provider":"slack","ExternalId":"T1","Status":"active","Organizations":[]},{"Id":11,"Provider":"Slack","ExternalId":"T1","Status":"active","Organizations":[]}]}""", "Integrations[1]: Slack integration 'T1' is listed twice")]
    [InlineData("""{"Integrations":[{"Id":10,"Provider":"slack","ExternalId":"T1","Status":"active","Organizations":[]},{"Id":10,"Provider":"slack","ExternalId":"T2","Status":"active","Organizations":[]}]}""", "Integrations[1]: duplicate integration id 10")]
    [InlineData("""{"Integrations":[{"Id":10,"Provider":"slack","Status":"active","Organizations":[]}]}""", "Integrations[0] (id 10): Provider and ExternalId are required")]
    public void Inconsistent_entries_are_rejected_by_name(string json, string error)
        => Parse(json).Should().Throw<FormatException>().WithMessage("directory.json line 1, column *: " + error.Replace("directory.json line 1, column 19: ", "", StringComparison.Ordinal));

    [Theory]
    [InlineData("""{"Organizations":[ORG],"Integrations":[{"Id":13,"Provider":"slack","ExternalId":"T1","Status":"active"}]}""")]
    [InlineData("""{"Organizations":[ORG],"Integrations":[{"Id":13,"Provider":"slack","ExternalId":"T1","Status":"active","Organizations":null}]}""")]
    public void An_integration_without_Organizations_is_rejected(string json)
        => Parse(json.Replace("ORG", Org, StringComparison.Ordinal)).Should().Throw<FormatException>()
            .WithMessage("directory.json line 1, column *: Integrations[0] (id 13): Organizations is required*");

    [Theory]
    [InlineData("""{"Organizations":[{"Id":7,"Slug":"a","Region":"us","Status":"archived"}]}""", "Organizations[0] (id 7): unknown Status 'archived'*")]
    [InlineData("""{"Organizations":[ORG],"Integrations":[{"Id":13,"Provider":"slack","ExternalId":"T1","Status":"enabled","Organizations":[1]}]}""", "Integrations[0] (id 13): unknown Status 'enabled'*")]
    public void An_unknown_status_is_rejected_with_the_statuses_it_may_have(string json, string error)
        => Parse(json.Replace("ORG", Org, StringComparison.Ordinal)).Should().Throw<FormatException>()
            .WithMessage("directory.json line 1, column *: " + error).WithMessage("*(expected one of active, disabled, pending_deletion, deletion_in_progress, pending_removal)");

    [Fact]
    public void Every_inconsistency_is_reported_each_with_the_line_of_its_entry()
    {
        var json = "{\"Organizations\":[\n{\"Id\":1,\"Region\":\"us\",\"Status\":\"archived\"},\n{\"Id\":1,\"Region\":\"eu\",\"Status\":\"active\"}\n]}";

        Parse(json).Should().Throw<FormatException>().WithMessage(
            "directory.json line 2, column 1: Organizations[0] (id 1): unknown Status 'archived'*; directory.json line 3, column 1: Organizations[1]: duplicate organization id 1");
    }

    [Theory]
    [InlineData("active")]
    [InlineData("disabled")]
    [InlineData("pending_deletion")]
    [InlineData("deletion_in_progress")]
    [InlineData("pending_removal")]
    [InlineData("Pending_Deletion")]
    [InlineData("ACTIVE")]
    public void The_reference_statuses_are_accepted_in_any_case(string status)
    {
        var json = $$"""{"Organizations":[{"Id":1,"Slug":"a","Region":"us","Status":"{{status}}"}],"Integrations":[{"Id":10,"Provider":"slack","ExternalId":"T1","Status":"{{status}}","Organizations":[1]}]}""";

        Parse(json).Should().NotThrow();
    }

    [Theory]
    [InlineData("{\n  \"Organizations\": [\n    { \"Id\": 1, \"Slug\": \"a\", \"Region\": \"us\", \"Status\": \"active\" },\n    broken\n  ]\n}", "directory.json line 4, column 5: invalid JSON: *")]
    [InlineData("{ \"Organizations\": [", "directory.json line 1, column 21: the file ends before the JSON is complete (an object or array is not closed)")]
    [InlineData("{\n  \"Organizations\": []\n}\n}", "directory.json line 4, column 1: invalid JSON: *")]
    [InlineData("", "directory.json is empty")]
    [InlineData(" \n ", "directory.json is empty")]
    public void A_syntax_error_gives_the_1_based_line_and_column(string json, string error)
        => Parse(json).Should().Throw<FormatException>().WithMessage(error).Which.Message.Should().NotContain("LineNumber");

    [Theory]
    [InlineData("{\n  \"Organizations\": [\n    {\n      \"Id\": \"1\", \"Slug\": \"a\", \"Region\": \"us\", \"Status\": \"active\"\n    }\n  ]\n}", "directory.json line 4, column 13: expected a number for Organizations[0].Id")]
    [InlineData("{\n  \"Organizations\": [\n    { \"Id\": 1.5, \"Slug\": \"a\", \"Region\": \"us\", \"Status\": \"active\" }\n  ]\n}", "directory.json line 3, column 13: expected a whole number for Organizations[0].Id")]
    [InlineData("{\n  \"Organizations\": [\n    { \"Id\": 1, \"Slug\": \"a\", \"Region\": 3, \"Status\": \"active\" }\n  ]\n}", "directory.json line 3, column 39: expected a string for Organizations[0].Region")]
    [InlineData("{ \"Organizations\": [], \"Integrations\": [ { \"Id\": 1, \"Organizations\": [\"1\"] } ] }", "directory.json line 1, column 71: expected a number for Integrations[0].Organizations[0]")]
    [InlineData("{ \"Organizations\": [], \"Integrations\": [ { \"Id\": 1, \"Organizations\": 1 } ] }", "directory.json line 1, column 70: expected an array of organization ids for Integrations[0].Organizations")]
    [InlineData("{ \"Organizations\": {} }", "directory.json line 1, column 20: expected an array for Organizations")]
    [InlineData("{ \"Organizations\": [ 1 ] }", "directory.json line 1, column 22: expected an object for Organizations[0]")]
    [InlineData("[]", "directory.json line 1, column 1: expected an object with Organizations and Integrations")]
    [InlineData("{\n  \"Organisations\": []\n}", "directory.json line 2, column 3: unknown property 'Organisations'")]
    [InlineData("{ \"Organizations\": [ { \"Id\": 1, \"Regoin\": \"us\" } ] }", "directory.json line 1, column 33: unknown property 'Regoin' in Organizations[0]")]
    public void A_wrong_type_names_the_field_and_the_position_in_the_file_s_terms(string json, string error)
        => Parse(json).Should().Throw<FormatException>().WithMessage(error).Which.Message.Should().NotContain("System.");

    [Fact]
    public void Columns_count_characters_not_bytes()
        => Parse("{ \"Organizations\": [ { \"Slug\": \"ü\", \"Id\": \"1\" } ] }").Should().Throw<FormatException>()
            .WithMessage("directory.json line 1, column 43: *");

    [Fact]
    public void Text_that_is_not_UTF_8_is_rejected_with_its_position()
        => ((Action)(() => IntegrationDirectory.Parse([.. "{\n  \"Organizations\": [ { \"Id\": 1, \"Region\": \""u8, 0xFF, .. "\" } ] }"u8])))
            .Should().Throw<FormatException>().WithMessage("directory.json line 2, column 43: the text is not valid UTF-8");

    [Fact]
    public void A_byte_order_mark_is_not_an_error()
        => ((Action)(() => IntegrationDirectory.Parse([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("{}")]))).Should().NotThrow();

    [Fact]
    public void The_file_name_in_errors_is_the_source_s()
        => ((Action)(() => IntegrationDirectory.Parse("[]"u8, "demo/directory.json"))).Should().Throw<FormatException>()
            .WithMessage("demo/directory.json line 1, column 1: *");

    private static Action Parse(string json) => () => IntegrationDirectory.Parse(Encoding.UTF8.GetBytes(json));
}
