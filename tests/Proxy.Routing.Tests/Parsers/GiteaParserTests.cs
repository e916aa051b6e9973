using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class GiteaParserTests
{
    private const string Webhook = "/extensions/gitea/organizations/2/webhook/40/";
    private readonly GiteaParser _parser = new();

    public static TheoryData<string, string, string> Cases => new()
    {
        // path, payload file, expected: mode, or the 400's problem type
        { Webhook, "push.json", "mailbox" },
        { Webhook, "pull_request_opened.json", "mailbox" },
        { Webhook, "no_repository.json", "mailbox-unbucketed" },
        { Webhook, "empty.json", ProblemTypes.MalformedBody },
        { Webhook, "malformed.json", ProblemTypes.MalformedBody },
        { Webhook, "array.json", ProblemTypes.MalformedBody },
        { "/extensions/gitea/organizations/acme/webhook/40/", "push.json", "control" },
        { "/extensions/gitea/organizations/0/webhook/40/", "push.json", "control" },
        { "/extensions/gitea/organizations/-2/webhook/40/", "push.json", "control" },
        { "/extensions/gitea/organizations/99999999999999999999999/webhook/40/", "push.json", "control" },
        { "/extensions/gitea/organizations//webhook/40/", "push.json", "control" },
        { "/extensions/gitea/organizations/2/webhook/abc/", "push.json", "control" },
        { "/extensions/gitea/organizations/2/webhook/", "push.json", "control" },
        { "/extensions/gitea/configure/", "push.json", "control" },
        { "/extensions/gitea/", "push.json", "control" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_organization_webhooks_to_the_named_organization_and_integration(string path, string file, string expected)
    {
        var intent = _parser.Parse(Payloads.FromFile("gitea", file, path));

        switch (expected)
        {
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            case "mailbox" or "mailbox-unbucketed":
                var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
                toRegions.Target.Should().Be(new RoutingTarget.Organization(2));
                toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
                toRegions.MailboxIntegrationId.Should().Be(40, "the mailbox is gitea:{integration id from the URL}");
                toRegions.MailboxBucketId.Should().Be(expected == "mailbox" ? 1207 : null, "buckets follow repository.id");
                toRegions.ControlWhenUnplaced.Should().BeTrue("an unknown or inactive organization is served by control");
                toRegions.Methods.Should().Be("POST");
                break;
            default:
                var reject = intent.Should().BeOfType<RoutingIntent.Reject>().Subject;
                reject.Status.Should().Be(400);
                reject.ProblemType.Should().Be(expected);
                break;
        }
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public void Only_JSON_bodies_are_taken(string? contentType)
        => _parser.Parse(Payloads.Request(Webhook, Payloads.Bytes("gitea", "push.json"), contentType))
            .Should().BeOfType<RoutingIntent.Reject>()
            .Which.Should().Match<RoutingIntent.Reject>(r => r.Status == 400 && r.ProblemType == ProblemTypes.UnsupportedMediaType);
}
