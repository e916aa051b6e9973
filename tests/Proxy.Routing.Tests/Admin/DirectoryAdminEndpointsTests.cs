using System.Text.Json;
using Proxy.Routing.Admin;
using Proxy.Routing.Regions.Invalidation;

namespace Proxy.Routing.Tests.Admin;

public sealed class DirectoryAdminEndpointsTests
{
    [Fact]
    public void The_three_bodies_of_the_contract_are_understood()
    {
        Parse("""{"provider":"slack","externalId":"T1"}""").Should().Be(new DirectoryInvalidation.ExternalIntegration("slack", "T1"));
        Parse("""{"integrationId":10}""").Should().Be(new DirectoryInvalidation.IntegrationId(10));
        Parse("""{"organizationId":1}""").Should().Be(new DirectoryInvalidation.Organization(1));
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"externalId":"T1"}""")]
    [InlineData("""{"provider":"slack","externalId":7}""")]
    [InlineData("""{"integrationId":1.5}""")]
    [InlineData("""{"organizationId":null}""")]
    [InlineData("""{"organizationId":1,"extra":true}""")]
    [InlineData("""42""")]
    public void Anything_else_is_refused_with_a_reason(string body)
    {
        using var document = JsonDocument.Parse(body);

        var (what, error) = DirectoryAdminEndpoints.Parse(document.RootElement);

        what.Should().BeNull();
        error.Should().NotBeNullOrEmpty();
    }

    private static DirectoryInvalidation? Parse(string body)
    {
        using var document = JsonDocument.Parse(body);
        return DirectoryAdminEndpoints.Parse(document.RootElement).What;
    }
}
