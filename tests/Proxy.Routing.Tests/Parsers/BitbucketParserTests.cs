using Proxy.Routing.Parsers;

namespace Proxy.Routing.Tests.Parsers;

public class BitbucketParserTests
{
    public static TheoryData<string, string, string, long?> Cases => new()
    {
        // provider, path, payload file, expected organization (null: control)
        { "bitbucket", "/extensions/bitbucket/organizations/42/webhook/", "repo_push.json", 42 },
        { "bitbucket", "/extensions/bitbucket/organizations/sentry/webhook/", "repo_push.json", null },
        { "bitbucket", "/extensions/bitbucket/organizations//webhook/", "repo_push.json", null },
        { "bitbucket", "/extensions/bitbucket/organizations/42/webhook/7/", "repo_push.json", null },
        { "bitbucket", "/extensions/bitbucket/descriptor/", "repo_push.json", null },
        { "bitbucket", "/extensions/bitbucket/installed/", "repo_push.json", null },
        { "bitbucket", "/extensions/bitbucket/search/sentry/7/", "repo_push.json", null },
        { "bitbucket_server", "/extensions/bitbucket-server/organizations/42/webhook/7/", "repo_refs_changed.json", 42 },
        { "bitbucket_server", "/extensions/bitbucket_server/organizations/42/webhook/7/", "repo_refs_changed.json", 42 },
        { "bitbucket_server", "/extensions/bitbucket-server/organizations/sentry/webhook/7/", "repo_refs_changed.json", null },
        { "bitbucket_server", "/extensions/bitbucket-server/organizations/42/webhook/", "repo_refs_changed.json", null },
        { "bitbucket_server", "/extensions/bitbucket-server/organizations/42/webhook/x/", "repo_refs_changed.json", null },
        { "bitbucket_server", "/extensions/bitbucket-server/configure/", "repo_refs_changed.json", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_the_organization_webhook_by_the_organization_in_the_path(string provider, string path, string file, long? organization)
    {
        var intent = new BitbucketParser(provider).Parse(Payloads.FromFile(provider, file, path));

        if (organization is null)
        {
            intent.Should().BeOfType<RoutingIntent.Control>();
            return;
        }

        var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
        toRegions.Target.Should().Be(new RoutingTarget.Organization(organization.Value));
        toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
        toRegions.MailboxSuffix.Should().BeNull("the mailbox is {provider}:{organization id}");
        toRegions.MailboxBucketId.Should().BeNull();
    }

    [Fact]
    public void Keeps_its_provider_key()
        => new BitbucketParser("bitbucket_server").Provider.Should().Be("bitbucket_server");
}
