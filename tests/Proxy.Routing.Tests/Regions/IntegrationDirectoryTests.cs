using System.Text;
using Proxy.Routing.Parsers;
using Proxy.Routing.Regions;

namespace Proxy.Routing.Tests.Regions;

/// <summary>The routing tables built from one directory version: every answer is ready at load.</summary>
public class IntegrationDirectoryTests
{
    internal static readonly IntegrationDirectory Directory = IntegrationDirectory.Parse(Encoding.UTF8.GetBytes("""
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "us", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "eu", "Status": "active" },
            { "Id": 3, "Slug": "initech", "Region": "ap", "Status": "disabled" },
            { "Id": 4, "Slug": "hooli", "Region": "eu", "Status": "Active" },
            { "Id": 5, "Slug": "umbrella", "Region": "ap", "Status": "pending_deletion" }
          ],
          "Integrations": [
            { "Id": 10, "Provider": "slack", "ExternalId": "T1", "Status": "active", "Organizations": [4, 1, 2, 3] },
            { "Id": 11, "Provider": "slack", "ExternalId": "T2", "Status": "active", "Organizations": [3, 5] },
            { "Id": 12, "Provider": "slack", "ExternalId": "T3", "Status": "disabled", "Organizations": [1] },
            { "Id": 13, "Provider": "github", "ExternalId": "T1", "Status": "active", "Organizations": [2] },
            { "Id": 14, "Provider": "GitHub_Enterprise", "ExternalId": "ghe-1", "Status": "ACTIVE", "Organizations": [1] },
            { "Id": 15, "Provider": "slack", "ExternalId": "T4", "Status": "active", "Organizations": [] },
            { "Id": 16, "Provider": "slack", "ExternalId": "T5", "Status": "pending_removal", "Organizations": [1] }
          ]
        }
        """));

    public static TheoryData<string, RoutingTarget, ResolutionKind, string[], long?> Cases => new()
    {
        { "regions of active organizations, distinct and sorted", new RoutingTarget.ExternalIntegration("slack", "T1"), ResolutionKind.Found, ["eu", "us"], 10 },
        { "the same external id under another provider", new RoutingTarget.ExternalIntegration("github", "T1"), ResolutionKind.Found, ["eu"], 13 },
        { "provider keys match case-insensitively", new RoutingTarget.ExternalIntegration("github_enterprise", "ghe-1"), ResolutionKind.Found, ["us"], 14 },
        { "external ids match exactly", new RoutingTarget.ExternalIntegration("slack", "t1"), ResolutionKind.UnknownTarget, [], null },
        { "all organizations inactive", new RoutingTarget.ExternalIntegration("slack", "T2"), ResolutionKind.NoActiveOrganization, [], 11 },
        { "a disabled integration", new RoutingTarget.ExternalIntegration("slack", "T3"), ResolutionKind.NoActiveOrganization, [], 12 },
        { "an integration pending removal", new RoutingTarget.ExternalIntegration("slack", "T5"), ResolutionKind.NoActiveOrganization, [], 16 },
        { "an integration no organization installed", new RoutingTarget.ExternalIntegration("slack", "T4"), ResolutionKind.NoActiveOrganization, [], 15 },
        { "an unknown integration", new RoutingTarget.ExternalIntegration("slack", "nope"), ResolutionKind.UnknownTarget, [], null },
        { "an unknown provider", new RoutingTarget.ExternalIntegration("discord", "T1"), ResolutionKind.UnknownTarget, [], null },
        { "by directory integration id", new RoutingTarget.IntegrationId(10), ResolutionKind.Found, ["eu", "us"], 10 },
        { "a disabled integration by id", new RoutingTarget.IntegrationId(12), ResolutionKind.NoActiveOrganization, [], 12 },
        { "an unknown integration id", new RoutingTarget.IntegrationId(99), ResolutionKind.UnknownTarget, [], null },
        { "an active organization", new RoutingTarget.Organization(1), ResolutionKind.Found, ["us"], null },
        { "a disabled organization", new RoutingTarget.Organization(3), ResolutionKind.NoActiveOrganization, [], null },
        { "an organization pending deletion", new RoutingTarget.Organization(5), ResolutionKind.NoActiveOrganization, [], null },
        { "an unknown organization", new RoutingTarget.Organization(99), ResolutionKind.UnknownTarget, [], null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Targets_resolve_to_their_ready_answer(string @case, RoutingTarget target, ResolutionKind kind, string[] regions, long? integrationId)
    {
        var resolution = Directory.Resolve(target);

        resolution.Kind.Should().Be(kind, @case);
        resolution.Regions.Should().Equal(regions, @case);
        resolution.IntegrationId.Should().Be(integrationId, @case);
    }

    [Fact]
    public void Counts_are_those_of_the_file()
    {
        Directory.OrganizationCount.Should().Be(5);
        Directory.IntegrationCount.Should().Be(7);
    }

    [Fact]
    public void A_ready_answer_cannot_be_changed_by_the_caller()
        => Directory.Resolve(new RoutingTarget.ExternalIntegration("slack", "T1")).Regions.Should().NotBeAssignableTo<string[]>();

    [Fact]
    public void Resolving_allocates_nothing()
    {
        RoutingTarget[] targets =
        [
            new RoutingTarget.ExternalIntegration("slack", "T1"),
            new RoutingTarget.ExternalIntegration("github_enterprise", "ghe-1"),
            new RoutingTarget.IntegrationId(13),
            new RoutingTarget.Organization(1),
            new RoutingTarget.ExternalIntegration("slack", "nope"),
        ];
        foreach (var target in targets)
        {
            Directory.Resolve(target);
        }

        var found = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            found += Directory.Resolve(targets[i % targets.Length]).Regions.Count;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        found.Should().Be(1_000 / 5 * 5, "the loop resolved real answers (2 + 1 + 1 + 1 + 0 regions per round)");
    }

    [Fact]
    public void The_revision_is_a_hash_of_the_file_so_replicas_agree_on_it()
    {
        var json = Encoding.UTF8.GetBytes("""{"Organizations":[{"Id":1,"Slug":"a","Region":"us","Status":"active"}]}""");

        IntegrationDirectory.Parse(json).Revision.Should().Be(IntegrationDirectory.Parse(json).Revision);
        IntegrationDirectory.Parse(json).Revision.Should().NotBe(IntegrationDirectory.Parse(Encoding.UTF8.GetBytes("{}")).Revision);
    }
}
