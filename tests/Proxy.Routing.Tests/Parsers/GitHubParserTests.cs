using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class GitHubParserTests
{
    private const string Webhook = "/extensions/github/webhook/";
    private readonly GitHubParser _parser = new();

    private RoutingIntent Parse(string file, string gitHubEvent, string contentType = "application/json", string path = Webhook)
        => _parser.Parse(Payloads.Request(path, Payloads.Bytes("github", file), contentType,
            new Dictionary<string, string> { ["X-GitHub-Event"] = gitHubEvent, ["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958" }));

    [Theory]
    [InlineData("push.json", "push", "69:push")]
    [InlineData("pull_request_opened.json", "pull_request", "69:pull_request")]
    [InlineData("issues_no_repository.json", "issues", null)]
    public void Processed_events_go_to_every_region_through_a_mailbox_per_repository_bucket_and_event(string file, string gitHubEvent, string? suffix)
    {
        var intent = Parse(file, gitHubEvent).Should().BeOfType<RoutingIntent.ToRegions>().Subject;

        intent.Target.Should().Be(new RoutingTarget.ExternalIntegration("github", "2"));
        intent.Delivery.Should().Be(RegionDelivery.Mailbox);
        intent.MailboxSuffix.Should().Be(suffix, "1296269 % 100 is 69");
        intent.UnknownTargetStatus.Should().Be(400);
        intent.NoRegionStatus.Should().Be(400);
    }

    [Fact]
    public void Installation_events_go_to_control()
        => Parse("installation_created.json", "installation").Should().BeOfType<RoutingIntent.Control>();

    [Fact]
    public void Events_no_region_processes_are_acknowledged_with_202_and_dropped()
        => Parse("star_created.json", "star").Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(202);

    [Theory]
    [InlineData("application/x-www-form-urlencoded", ProblemTypes.UnsupportedMediaType)]
    [InlineData("text/plain", ProblemTypes.UnsupportedMediaType)]
    public void Bodies_that_are_not_declared_JSON_are_rejected(string contentType, string problem)
        => Parse("push.json", "push", contentType).Should().BeOfType<RoutingIntent.Reject>()
            .Which.ProblemType.Should().Be(problem);

    [Fact]
    public void Malformed_JSON_is_rejected()
        => Parse("malformed.json", "push").Should().BeOfType<RoutingIntent.Reject>()
            .Which.ProblemType.Should().Be(ProblemTypes.MalformedBody);

    [Fact]
    public void A_webhook_without_an_installation_is_rejected()
        => Parse("issue_comment_no_installation.json", "issue_comment").Should().BeOfType<RoutingIntent.Reject>()
            .Which.ProblemType.Should().Be(ProblemTypes.MissingIdentifier);

    [Theory]
    [InlineData("installation_created.json", "control", null)]
    [InlineData("installation_deleted.json", "control", null)]
    [InlineData("installation_suspend.json", "mailbox", null)]
    [InlineData("push.json", "mailbox", "69:unknown")]
    [InlineData("issue_comment_no_installation.json", ProblemTypes.MissingIdentifier, null)]
    [InlineData("malformed.json", ProblemTypes.MalformedBody, null)]
    public void A_webhook_without_an_event_header_is_routed_by_its_body(string file, string expected, string? suffix)
    {
        var intent = Parse(file, "");

        switch (expected)
        {
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            case "mailbox":
                var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
                toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
                toRegions.MailboxSuffix.Should().Be(suffix, "no sender-chosen event name reaches a mailbox name");
                break;
            default:
                intent.Should().BeOfType<RoutingIntent.Reject>().Which.ProblemType.Should().Be(expected);
                break;
        }
    }

    [Theory]
    [InlineData("push", "push")]
    [InlineData("check_run", "check_run")]
    [InlineData(null, "unknown")]
    [InlineData("Push", "unknown")]
    [InlineData("star", "unknown")]
    [InlineData("x1-made-up-by-a-sender", "unknown")]
    public void Only_known_event_names_may_appear_in_a_mailbox_name(string? gitHubEvent, string expected)
        => Proxy.Routing.Rules.ProviderRules.Defaults.For("github")!.MailboxEventName(gitHubEvent).Should().Be(expected);

    [Fact]
    public void Other_GitHub_pages_go_to_control()
        => Parse("push.json", "push", path: "/extensions/github/installation/123/").Should().BeOfType<RoutingIntent.Control>();
}
