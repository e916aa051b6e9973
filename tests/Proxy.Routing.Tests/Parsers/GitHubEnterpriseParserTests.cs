using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

/// <summary>GitHub Enterprise sends GitHub's payloads; the files under Payloads/github serve both.</summary>
public class GitHubEnterpriseParserTests
{
    private const string Webhook = "/extensions/github-enterprise/webhook/";
    private const string Host = "ghe.example.com";
    private readonly GitHubEnterpriseParser _parser = new();

    public static TheoryData<string, string, string, string?, string, string?> Cases => new()
    {
        // path, payload file, X-GitHub-Event, X-GitHub-Enterprise-Host, expected mode or problem type, expected external id
        { Webhook, "push.json", "push", Host, "mailbox", "ghe.example.com:2" },
        { Webhook, "issues_no_repository.json", "issues", Host, "mailbox", "ghe.example.com:2" },
        { "/extensions/github-enterprise/webhook/github-com/", "push.json", "push", null, "mailbox", "github.com:2" },
        { Webhook, "push.json", "push", null, ProblemTypes.MissingIdentifier, null },
        { Webhook, "push.json", "push", "", ProblemTypes.MissingIdentifier, null },
        { Webhook, "installation_created.json", "installation", null, "control", null },
        { Webhook, "star_created.json", "star", Host, "202", null },
        { Webhook, "push.json", "", Host, "mailbox-unknown", "ghe.example.com:2" },
        { Webhook, "installation_deleted.json", "", Host, "control", null },
        { Webhook, "malformed.json", "push", Host, ProblemTypes.MalformedBody, null },
        { Webhook, "issue_comment_no_installation.json", "issue_comment", Host, ProblemTypes.MissingIdentifier, null },
        { "/extensions/github-enterprise/search/acme/7/", "push.json", "push", Host, "control", null },
        { "/extensions/github-enterprise/webhook/other/", "push.json", "push", Host, "control", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Follows_the_GitHub_rules_with_the_host_in_the_external_id(string path, string file, string gitHubEvent,
        string? host, string expected, string? externalId)
    {
        var headers = new Dictionary<string, string> { ["X-GitHub-Event"] = gitHubEvent };
        if (host is not null)
        {
            headers["X-GitHub-Enterprise-Host"] = host;
        }

        var intent = _parser.Parse(Payloads.Request(path, Payloads.Bytes("github", file), "application/json", headers));

        switch (expected)
        {
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            case "202":
                intent.Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(202);
                break;
            case "mailbox" or "mailbox-unknown":
                var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
                toRegions.Target.Should().Be(new RoutingTarget.ExternalIntegration("github_enterprise", externalId!));
                toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
                toRegions.MailboxSuffix.Should().Be(file != "push.json" ? null : expected == "mailbox" ? "69:push" : "69:unknown");
                break;
            default:
                var reject = intent.Should().BeOfType<RoutingIntent.Reject>().Subject;
                reject.Status.Should().Be(400);
                reject.ProblemType.Should().Be(expected);
                break;
        }
    }

    [Fact]
    public void Bodies_that_are_not_declared_JSON_are_rejected()
        => _parser.Parse(Payloads.Request(Webhook, Payloads.Bytes("github", "push.json"), "application/x-www-form-urlencoded",
                new Dictionary<string, string> { ["X-GitHub-Event"] = "push", ["X-GitHub-Enterprise-Host"] = Host }))
            .Should().BeOfType<RoutingIntent.Reject>().Which.ProblemType.Should().Be(ProblemTypes.UnsupportedMediaType);
}
