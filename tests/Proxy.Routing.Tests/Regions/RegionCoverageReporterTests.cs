using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Proxy.Routing.Regions;
using Yarp.ReverseProxy.Configuration;

namespace Proxy.Routing.Tests.Regions;

/// <summary>The region check runs at start, when YARP applies routes and when the directory reloads.</summary>
public sealed class RegionCoverageReporterTests : IAsyncDisposable
{
    private readonly string _configDir = Directory.CreateTempSubdirectory("proxy-coverage-").FullName;
    private WebApplication? _app;

    private string DirectoryPath => Path.Combine(_configDir, "directory.json");

    private static string DirectoryJson(string secondRegion) => $$"""
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "us", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "{{secondRegion}}", "Status": "active" }
          ]
        }
        """;

    private static ClusterConfig[] Clusters(params string[] regions)
        => [.. regions.Select(r => new ClusterConfig
        {
            ClusterId = $"region-{r}",
            Metadata = new Dictionary<string, string> { ["Region"] = r },
            Destinations = new Dictionary<string, DestinationConfig> { ["d1"] = new() { Address = "http://127.0.0.1:1/" } },
        })];

    [Fact]
    public async Task Regions_without_a_cluster_are_reported_at_start_after_a_routes_edit_and_after_a_directory_edit()
    {
        await File.WriteAllTextAsync(DirectoryPath, DirectoryJson("eu"));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration[IntegrationRoutingExtensions.ConfigDirKey] = _configDir;
        builder.Logging.ClearProviders().AddFakeLogging();
        builder.Services.AddReverseProxy().LoadFromMemory([], Clusters("us")).AddIntegrationRouting(builder.Configuration);
        _app = builder.Build();
        _app.MapReverseProxy();
        await _app.StartAsync();
        var collector = _app.Services.GetRequiredService<FakeLogCollector>();

        (await WarningsAsync(collector, 1)).Should().Equal("eu");

        _app.Services.GetRequiredService<InMemoryConfigProvider>().Update([], Clusters("eu"));
        (await WarningsAsync(collector, 2)).Should().Equal("eu", "us");

        await File.WriteAllTextAsync(DirectoryPath, DirectoryJson("sa"));
        (await WarningsAsync(collector, 4)).Should().Equal("eu", "us", "sa", "us");
    }

    /// <summary>The regions named by the reporter's warnings, once there are <paramref name="count"/> (bounded wait).</summary>
    private static async Task<string[]> WarningsAsync(FakeLogCollector collector, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        string[] regions;
        while ((regions = Regions(collector)).Length < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return regions;
    }

    private static string[] Regions(FakeLogCollector collector)
        => [.. collector.GetSnapshot()
            .Where(r => r.Category == typeof(RegionCoverageReporter).FullName && r.Level == LogLevel.Warning)
            .Select(r => r.GetStructuredStateValue("Region")!)];

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Directory.Delete(_configDir, recursive: true);
    }
}
