using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class AzureDevOpsParserTests
{
    private const string Webhook = "/extensions/vsts/issue-updated/";
    private readonly AzureDevOpsParser _parser = new();

    public static TheoryData<string, string, string> Cases => new()
    {
        // path, payload file, expected mode or problem type
        { Webhook, "workitem_updated.json", "mailbox" },
        { Webhook, "workitem_created.json", "mailbox" },
        { Webhook, "no_collection.json", ProblemTypes.MissingIdentifier },
        { Webhook, "string.json", ProblemTypes.MissingIdentifier },
        { Webhook, "malformed.json", ProblemTypes.MalformedBody },
        { "/extensions/vsts/configure/", "workitem_updated.json", "control" },
        { "/extensions/vsts/search/acme/7/", "workitem_updated.json", "control" },
        { "/extensions/vsts/", "workitem_updated.json", "control" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_work_item_webhooks_by_their_collection(string path, string file, string expected)
    {
        var intent = _parser.Parse(Payloads.FromFile("vsts", file, path));

        switch (expected)
        {
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            case "mailbox":
                var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
                toRegions.Target.Should().Be(new RoutingTarget.ExternalIntegration("vsts", "c12d0eb8-e382-443b-9f9c-c52cba5014c2"));
                toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
                toRegions.MailboxSuffix.Should().BeNull("the mailbox is vsts:{integration id}");
                toRegions.UnknownTargetStatus.Should().Be(400);
                toRegions.NoRegionStatus.Should().Be(400);
                toRegions.MailboxBucketId.Should().Be(file == "workitem_created.json" ? 7 : 5,
                    "buckets are the work item id (an update's resource.workItemId, else resource.id) in 10");
                break;
            default:
                var reject = intent.Should().BeOfType<RoutingIntent.Reject>().Subject;
                reject.Status.Should().Be(400);
                reject.ProblemType.Should().Be(expected);
                break;
        }
    }
}
