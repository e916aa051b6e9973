using Proxy.Routing.Parsers;

namespace Proxy.Routing.Tests.Parsers;

public class JiraServerParserTests
{
    private readonly JiraServerParser _parser = new();

    public static TheoryData<string, string, string, long?> Cases => new()
    {
        // token file (or a literal token after "="), payload file, expected mode, expected bucket id
        { "token.txt", "issue_updated.json", "mailbox", 10002 },
        { "token.txt", "issue_updated_no_issue.json", "mailbox", null },
        { "token.txt", "issue_updated_no_changelog.json", "200", null },
        { "token.txt", "issue_updated_empty_changelog.json", "200", null },
        { "token.txt", "malformed.json", "200", null },
        { "token_without_id.txt", "issue_updated.json", "200", null },
        { "=not-a-jwt", "issue_updated.json", "200", null },
        { "=a.!!!.c", "issue_updated.json", "200", null },
        { "=a.bm90IGpzb24.c", "issue_updated.json", "200", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_issue_updates_by_the_integration_named_in_the_token(string token, string file, string expected, long? bucket)
    {
        var text = token.StartsWith('=') ? token[1..] : Payloads.Text("jira_server", token);

        var intent = _parser.Parse(Payloads.FromFile("jira_server", file, $"/extensions/jira-server/issue-updated/{text}/"));

        if (expected == "200")
        {
            intent.Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(200);
            return;
        }

        var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
        toRegions.Target.Should().Be(new RoutingTarget.ExternalIntegration("jira_server", "jira.example.org:sentry-test"));
        toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
        toRegions.MailboxBucketId.Should().Be(bucket, "busy integrations are bucketed by issue.id");
        toRegions.UnknownTargetStatus.Should().Be(200, "a token that matches no integration is answered like an unreadable one");
        toRegions.NoRegionStatus.Should().Be(400, "an integration without organizations is refused");
    }

    [Fact]
    public void The_webhook_without_a_token_is_answered_200()
        => _parser.Parse(Payloads.FromFile("jira_server", "issue_updated.json", "/extensions/jira-server/issue-updated/"))
            .Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(200);

    [Theory]
    [InlineData("/extensions/jira-server/search/acme/7/")]
    [InlineData("/extensions/jira-server/")]
    [InlineData("/extensions/jira-server/issue-updated/a.b.c/extra/")]
    public void Other_Jira_Server_pages_go_to_control(string path)
        => _parser.Parse(Payloads.FromFile("jira_server", "issue_updated.json", path)).Should().BeOfType<RoutingIntent.Control>();
}
