using System.Text;
using Proxy.Routing.Parsers;
using Proxy.Routing.Regions;

namespace Proxy.Routing.Tests.Regions;

public class RegionResolverTests
{
    private static readonly IntegrationDirectory Directory = IntegrationDirectory.Parse(Encoding.UTF8.GetBytes("""
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "us", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "eu", "Status": "active" },
            { "Id": 3, "Slug": "initech", "Region": "ap", "Status": "disabled" },
            { "Id": 4, "Slug": "hooli", "Region": "eu", "Status": "active" }
          ],
          "Integrations": [
            { "Id": 10, "Provider": "slack", "ExternalId": "T1", "Status": "active", "Organizations": [1, 2, 3, 4] },
            { "Id": 11, "Provider": "slack", "ExternalId": "T2", "Status": "active", "Organizations": [3] },
            { "Id": 12, "Provider": "slack", "ExternalId": "T3", "Status": "disabled", "Organizations": [1] },
            { "Id": 13, "Provider": "github", "ExternalId": "T1", "Status": "active", "Organizations": [2] }
          ]
        }
        """));

    [Fact]
    public void Regions_of_active_organizations_are_distinct_and_sorted_by_name()
    {
        var resolution = RegionResolver.Resolve(Directory, new RoutingTarget.ExternalIntegration("slack", "T1"));

        resolution.Kind.Should().Be(ResolutionKind.Found);
        resolution.Regions.Should().Equal("eu", "us");
        resolution.IntegrationId.Should().Be(10);
    }

    [Fact]
    public void The_same_external_id_under_another_provider_is_another_integration()
        => RegionResolver.Resolve(Directory, new RoutingTarget.ExternalIntegration("github", "T1")).Regions.Should().Equal("eu");

    [Fact]
    public void An_integration_whose_organizations_are_all_inactive_has_no_region()
        => RegionResolver.Resolve(Directory, new RoutingTarget.ExternalIntegration("slack", "T2")).Kind
            .Should().Be(ResolutionKind.NoActiveOrganization);

    [Fact]
    public void A_disabled_integration_has_no_region()
        => RegionResolver.Resolve(Directory, new RoutingTarget.ExternalIntegration("slack", "T3")).Kind
            .Should().Be(ResolutionKind.NoActiveOrganization);

    [Fact]
    public void An_unknown_integration_is_unknown()
        => RegionResolver.Resolve(Directory, new RoutingTarget.ExternalIntegration("slack", "nope")).Kind
            .Should().Be(ResolutionKind.UnknownTarget);

    [Fact]
    public void Integrations_resolve_by_directory_id_and_organizations_by_id()
    {
        RegionResolver.Resolve(Directory, new RoutingTarget.IntegrationId(13)).Regions.Should().Equal("eu");
        RegionResolver.Resolve(Directory, new RoutingTarget.Organization(1)).Regions.Should().Equal("us");
        RegionResolver.Resolve(Directory, new RoutingTarget.Organization(3)).Kind.Should().Be(ResolutionKind.NoActiveOrganization);
        RegionResolver.Resolve(Directory, new RoutingTarget.Organization(99)).Kind.Should().Be(ResolutionKind.UnknownTarget);
    }
}

public class IntegrationDirectoryTests
{
    [Theory]
    [InlineData("""{"Organizations":[{"Id":1,"Slug":"a","Region":"us","Status":"active"},{"Id":1,"Slug":"b","Region":"eu","Status":"active"}]}""", "duplicate organization id 1")]
    [InlineData("""{"Organizations":[{"Id":1,"Slug":"a","Region":"","Status":"active"}]}""", "Region is required")]
    [InlineData("""{"Organizations":[],"Integrations":[{"Id":10,"Provider":"slack","ExternalId":"T1","Status":"active","Organizations":[7]}]}""", "organization 7 is not in Organizations")]
    [InlineData("""{"Integrations":[{"Id":10,"Provider":"slack","ExternalId":"T1","Status":"active","Organizations":[]},{"Id":11,"Provider":"Slack","ExternalId":"T1","Status":"active","Organizations":[]}]}""", "listed twice")]
    [InlineData("""{"Organisations":[]}""", "not a valid directory document")]
    [InlineData("""{"Organizations":[""", "not a valid directory document")]
    public void Invalid_directories_are_rejected_with_an_error_that_names_the_entry(string json, string error)
    {
        var parse = () => IntegrationDirectory.Parse(Encoding.UTF8.GetBytes(json));

        parse.Should().Throw<FormatException>().WithMessage($"*{error}*");
    }

    [Fact]
    public void The_revision_is_a_hash_of_the_file_so_replicas_agree_on_it()
    {
        var json = Encoding.UTF8.GetBytes("""{"Organizations":[{"Id":1,"Slug":"a","Region":"us","Status":"active"}]}""");

        IntegrationDirectory.Parse(json).Revision.Should().Be(IntegrationDirectory.Parse(json).Revision);
        IntegrationDirectory.Parse(json).Revision.Should().NotBe(IntegrationDirectory.Parse(Encoding.UTF8.GetBytes("{}")).Revision);
    }
}
