using System.Text;
using Proxy.Routing.Parsers;
using Proxy.Routing.Regions;

namespace Proxy.Routing.Tests.Regions;

/// <summary>A webhook naming one organization of its integration is narrowed to that organization's region.</summary>
public class OrganizationTargetingTests
{
    private static readonly IntegrationDirectory Directory = IntegrationDirectory.Parse(Encoding.UTF8.GetBytes("""
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "ap", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "eu", "Status": "active" },
            { "Id": 3, "Slug": "hooli", "Region": "us", "Status": "active" },
            { "Id": 4, "Slug": "initech", "Region": "sa", "Status": "disabled" }
          ],
          "Integrations": [
            { "Id": 10, "Provider": "slack", "ExternalId": "TALL", "Status": "active", "Organizations": [1, 2, 3, 4] }
          ]
        }
        """));

    private static RegionResolution All => Directory.Resolve(new RoutingTarget.ExternalIntegration("slack", "TALL"));

    [Theory]
    [InlineData(null, "globex", "eu")]
    [InlineData(null, "GLOBEX", "eu")]
    [InlineData(3L, null, "us")]
    [InlineData(1L, null, "ap")]
    public void A_named_organization_of_the_integration_keeps_only_its_region(long? id, string? slug, string region)
    {
        var narrowed = All.NarrowTo(new TargetOrganization(id, slug));

        narrowed.Regions.Should().Equal(region);
        narrowed.IntegrationId.Should().Be(10);
        narrowed.Organizations.Should().ContainSingle();
    }

    [Theory]
    [InlineData(null, "no-such-org")]
    [InlineData(99L, null)]
    [InlineData(4L, null)]
    [InlineData(null, "initech")]
    public void An_organization_the_integration_has_no_active_install_for_is_ignored(long? id, string? slug)
        => All.NarrowTo(new TargetOrganization(id, slug)).Regions.Should().Equal(["ap", "eu", "us"], "every organization stays in scope");

    [Fact]
    public void Without_a_named_organization_nothing_changes()
        => All.NarrowTo(null).Should().BeSameAs(All);

    [Fact]
    public void The_resolution_lists_the_active_organizations_with_their_slugs()
        => All.Organizations.Should().Equal(new OrganizationRegion(1, "acme", "ap"), new OrganizationRegion(2, "globex", "eu"),
            new OrganizationRegion(3, "hooli", "us"));
}
