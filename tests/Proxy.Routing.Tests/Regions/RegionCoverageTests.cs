using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Proxy.Routing.Regions;

namespace Proxy.Routing.Tests.Regions;

/// <summary>Regions the directory names but no cluster serves are reported, not rejected.</summary>
public class RegionCoverageTests
{
    private static readonly IntegrationDirectory Directory = IntegrationDirectory.Parse(Encoding.UTF8.GetBytes("""
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "us", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "sa", "Status": "active" },
            { "Id": 3, "Slug": "initech", "Region": "sa", "Status": "active" },
            { "Id": 4, "Slug": "hooli", "Region": "me", "Status": "disabled" },
            { "Id": 5, "Slug": "umbrella", "Region": "EU", "Status": "active" },
            { "Id": 6, "Slug": "stark", "Region": "af", "Status": "active" }
          ]
        }
        """));

    public static TheoryData<string, string[], string[]> Cases => new()
    {
        { "every region served", ["af", "eu", "sa", "us"], [] },
        { "regions match clusters case-insensitively, as clusters are looked up", ["AF", "eu", "SA", "US"], [] },
        { "one region missing", ["af", "eu", "us"], ["sa: 2, 3"] },
        { "no cluster at all, sorted by region (ordinally)", [], ["EU: 5", "af: 6", "sa: 2, 3", "us: 1"] },
        { "a region of inactive organizations only routes nothing", ["af", "eu", "sa"], ["us: 1"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Regions_of_active_organizations_without_a_cluster_are_found(string @case, string[] clusters, string[] expected)
        => Directory.RegionsWithoutCluster(clusters).Select(f => $"{f.Region}: {string.Join(", ", f.Organizations)}")
            .Should().Equal(expected, @case);

    [Fact]
    public void Each_region_without_a_cluster_is_one_warning_naming_the_region_and_its_organizations()
    {
        var logger = new FakeLogger<RegionCoverageReporter>();

        RegionCoverageReporter.Report(logger, Directory, ["af", "eu", "us"]);

        var record = logger.Collector.GetSnapshot().Should().ContainSingle().Subject;
        record.Level.Should().Be(LogLevel.Warning);
        record.Message.Should().StartWith("Region sa of the directory has no cluster").And.Contain("2 active organization(s) (2, 3)");
    }

    [Fact]
    public void A_crowded_region_names_its_first_organizations_and_counts_the_rest()
    {
        var organizations = Enumerable.Range(1, RegionCoverageReporter.NamedOrganizations + 5)
            .Select(id => $$"""{ "Id": {{id}}, "Slug": "o{{id}}", "Region": "sa", "Status": "active" }""");
        var directory = IntegrationDirectory.Parse(Encoding.UTF8.GetBytes($$"""{ "Organizations": [{{string.Join(',', organizations)}}] }"""));
        var logger = new FakeLogger<RegionCoverageReporter>();

        RegionCoverageReporter.Report(logger, directory, []);

        logger.LatestRecord.Message.Should().Contain($"({string.Join(", ", Enumerable.Range(1, RegionCoverageReporter.NamedOrganizations))} and 5 more)");
    }
}
