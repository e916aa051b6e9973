using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class PluginParserTests
{
    private readonly PluginParser _parser = new();

    public static TheoryData<string, string, string, long?> Cases => new()
    {
        // path, payload file, expected mode, expected organization
        { "/plugins/github/organizations/42/webhook/", "github_push.json", "mailbox", 42 },
        { "/plugins/bitbucket/organizations/42/webhook/", "bitbucket_repo_push.json", "mailbox", 42 },
        { "/plugins/GitHub/organizations/7/webhook/", "github_push.json", "mailbox", 7 },
        { "/plugins/github/organizations/acme/webhook/", "github_push.json", "reject", null },
        { "/plugins/github/organizations//webhook/", "github_push.json", "control", null },
        { "/plugins/github/installations/webhook/", "github_push.json", "control", null },
        { "/plugins/jira/organizations/42/webhook/", "github_push.json", "control", null },
        { "/plugins/github/organizations/42/", "github_push.json", "control", null },
        { "/plugins/", "github_push.json", "control", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_plugin_webhooks_by_the_organization_in_the_path(string path, string file, string mode, long? organization)
    {
        var intent = _parser.Parse(Payloads.FromFile("plugins", file, path));

        switch (mode)
        {
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            case "reject":
                var reject = intent.Should().BeOfType<RoutingIntent.Reject>().Subject;
                reject.Status.Should().Be(400);
                reject.ProblemType.Should().Be(ProblemTypes.MissingIdentifier);
                break;
            default:
                var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
                toRegions.Target.Should().Be(new RoutingTarget.Organization(organization!.Value));
                toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
                toRegions.MailboxSuffix.Should().BeNull("the mailbox is plugins:{organization id}");
                toRegions.UnknownTargetStatus.Should().Be(400, "a webhook for an organization that no longer exists is refused");
                toRegions.NoRegionStatus.Should().Be(400);
                break;
        }
    }
}
