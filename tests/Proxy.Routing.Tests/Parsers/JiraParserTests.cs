using System.Text;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class JiraParserTests
{
    private const string ClientKey = "a3f2c8d1-7b9e-4c6a-9f0e-2d5b8c1e4a7f";
    private readonly JiraParser _parser = new();

    /// <summary>An Atlassian Connect JWT (the signature is not checked at the edge, so any bytes do).</summary>
    private static string Jwt(string claims)
    {
        static string Encode(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{Encode("""{"alg":"HS256","typ":"JWT"}""")}.{Encode(claims)}.c2lnbmF0dXJl";
    }

    private static readonly string ValidJwt = Jwt($$"""{"iss":"{{ClientKey}}","iat":1732790000,"exp":1732790180,"qsh":"abc"}""");

    private RoutingIntent Parse(string path, string? authorization = null)
        => _parser.Parse(Payloads.Request(path, Payloads.Bytes("jira", "issue_updated.json"), "application/json",
            authorization is null ? null : new Dictionary<string, string> { ["Authorization"] = authorization }));

    [Fact]
    public void Issue_updates_go_to_the_mailbox_of_the_installation_named_by_the_JWT_issuer()
    {
        var intent = Parse("/extensions/jira/issue-updated/", $"JWT {ValidJwt}").Should().BeOfType<RoutingIntent.ToRegions>().Subject;

        intent.Target.Should().Be(new RoutingTarget.ExternalIntegration("jira", ClientKey));
        intent.Delivery.Should().Be(RegionDelivery.Mailbox);
        intent.UnknownTargetStatus.Should().Be(404);
        intent.NoRegionStatus.Should().Be(400);
        intent.Methods.Should().Be("POST");
        intent.OneRegionOnly.Should().BeTrue("an installation in several regions is a configuration error served by control");
        intent.MailboxBucketId.Should().Be(2, "issue 10002 in 10 buckets");
    }

    [Fact]
    public void An_issue_update_without_a_readable_issue_id_is_not_bucketed()
        => _parser.Parse(Payloads.Request("/extensions/jira/issue-updated/", """{"issue":{"id":"ABC"}}"""u8.ToArray(), "application/json",
                new Dictionary<string, string> { ["Authorization"] = $"JWT {ValidJwt}" }))
            .Should().BeOfType<RoutingIntent.ToRegions>().Which.MailboxBucketId.Should().BeNull();

    [Fact]
    public void The_issue_panel_falls_back_to_control_when_its_region_gives_no_answer()
    {
        var intent = Parse($"/extensions/jira/issue/ABC-1/?jwt={ValidJwt}").Should().BeOfType<RoutingIntent.ToRegions>().Subject;

        intent.ControlOnRegionFailure.Should().BeTrue();
        intent.OneRegionOnly.Should().BeTrue();
    }

    [Fact]
    public void The_issue_panel_is_a_page_Jira_loads_with_GET()
        => Parse($"/extensions/jira/issue/ABC-1/?jwt={ValidJwt}").Should().BeOfType<RoutingIntent.ToRegions>()
            .Which.Methods.Should().Be("GET, HEAD");

    [Fact]
    public void The_JWT_may_come_in_the_query_string()
        => Parse($"/extensions/jira/issue/ABC-1/?xdm_e=https%3A%2F%2Facme.atlassian.net&jwt={ValidJwt}")
            .Should().BeOfType<RoutingIntent.ToRegions>().Which.Delivery.Should().Be(RegionDelivery.FirstRegion);

    [Theory]
    [InlineData("/extensions/jira/descriptor/")]
    [InlineData("/extensions/jira/installed/")]
    [InlineData("/extensions/jira/uninstalled/")]
    [InlineData("/extensions/jira/configure/")]
    [InlineData("/extensions/jira/search/acme/10/")]
    [InlineData("/extensions/jira/issue-details/ABC-1/")]
    [InlineData("/extensions/jira/ui-hook/")]
    public void Installation_descriptor_search_and_configuration_go_to_control(string path)
        => Parse(path, $"JWT {ValidJwt}").Should().BeOfType<RoutingIntent.Control>();

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer abc")]
    [InlineData("JWT not-a-jwt")]
    [InlineData("JWT e30.e30.c2ln")]
    public void A_request_without_a_readable_issuer_is_404_as_for_an_unknown_integration(string? authorization)
        => Parse("/extensions/jira/issue-updated/", authorization).Should().BeOfType<RoutingIntent.Reject>()
            .Which.Should().Match<RoutingIntent.Reject>(r => r.Status == 404 && r.ProblemType == ProblemTypes.MissingIdentifier);
}
