using Proxy.Routing.Parsers;
using Proxy.Routing.Regions;

namespace Proxy.Routing.Tests.Regions;

public class FileRegionDirectoryTests
{
    private static readonly FileRegionDirectory Regions = new(new FixedSource(IntegrationDirectoryTests.Directory));

    [Fact]
    public async Task Answers_synchronously_from_the_current_tables()
    {
        var resolution = Regions.ResolveAsync(new RoutingTarget.ExternalIntegration("slack", "T1"), CancellationToken.None);

        resolution.IsCompletedSuccessfully.Should().BeTrue("the file source never waits");
        (await resolution).Regions.Should().Equal("eu", "us");
    }

    [Fact]
    public async Task Resolving_a_found_integration_allocates_nothing()
    {
        var target = new RoutingTarget.ExternalIntegration("slack", "T1");
        for (var i = 0; i < 100; i++)
        {
            await Regions.ResolveAsync(target, CancellationToken.None);
        }

        var regions = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            regions += (await Regions.ResolveAsync(target, CancellationToken.None)).Regions.Count;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        regions.Should().Be(2_000);
    }

    private sealed class FixedSource(IntegrationDirectory current) : IIntegrationDirectorySource
    {
        public IntegrationDirectory Current { get; } = current;
    }
}
