using Microsoft.Extensions.Options;
using Proxy.Routing.Configuration;

namespace Proxy.Host.Tests;

public class StartupTests
{
    [Theory]
    [InlineData("Routing:MaxBodyBytes=0", "Routing:MaxBodyBytes")]
    [InlineData("Routing:SyncDeadline=-00:00:01", "Routing:SyncDeadline")]
    [InlineData("Routing:ControlCluster= ", "Routing:ControlCluster")]
    [InlineData("Limits:MaxRequestHeaderCount=0", "Limits:MaxRequestHeaderCount")]
    [InlineData("Limits:RequestHeadersTimeout=00:00:00", "Limits:RequestHeadersTimeout")]
    [InlineData("Directory:Source=Database", "Directory:Source must be File or Control (was 'Database').")]
    [InlineData("Directory:Control:Timeout=00:00:00", "Directory:Control:Timeout must be a positive duration (was 00:00:00).")]
    [InlineData("Directory:Control:IntegrationByIdPath=/integrations", "Directory:Control:IntegrationByIdPath must contain {integrationId}")]
    [InlineData("Redis:OperationTimeout=00:00:00", "Redis:OperationTimeout")]
    [InlineData("Routing:MaxConcurrentFanOutLegs=0", "Routing:MaxConcurrentFanOutLegs must be at least 1 (was 0).")]
    [InlineData("RateLimits:ClientIp:TokensPerSecond=-1", "RateLimits:ClientIp:TokensPerSecond must be 0 (no limit) or more (was -1).")]
    [InlineData("RateLimits:TrustedProxies:0=lb.internal", "RateLimits:TrustedProxies:0 must be an address or a CIDR range")]
    [InlineData("Signing:Keys:0:Id=k1", "Signing:Keys:0:Secret must be at least 32 bytes of UTF-8 (was 0).")]
    [InlineData("Signing:Keys:0:Secret=0123456789abcdef0123456789abcdef", "Signing:Keys:0:Id must be 1 to 64 letters")]
    [InlineData("Shed:Rules:0:ExternalId=4242", "Shed:Rules:0:Provider is required")]
    [InlineData("Shed:Rules:0:IntegrationId=twenty", "Shed:Rules:0:IntegrationId must be a number (was 'twenty').")]
    public async Task Invalid_settings_stop_the_start_with_an_error_that_names_the_key(string setting, string key)
    {
        var start = async () =>
        {
            await using var proxy = await ProxyHarness.StartAsync(null, setting);
        };

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(key);
    }

    [Fact]
    public async Task The_host_process_reports_a_bad_setting_in_one_line_and_exits_1_instead_of_crashing()
    {
        await using var proxy = ProxyProcess.Start("Routing:MaxBodyBytes=0");

        var exitCode = await proxy.WaitForExitAsync(TimeSpan.FromSeconds(60));

        exitCode.Should().Be(1);
        var lines = proxy.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle(l => l.StartsWith("edge-proxy: cannot start:", StringComparison.Ordinal)
            && l.Contains("Routing:MaxBodyBytes", StringComparison.Ordinal));
        proxy.Output.Should().NotContain("Unhandled exception");
    }

    [Fact]
    public async Task A_broken_routes_file_stops_the_start_with_its_path_in_the_error()
    {
        var configDir = Directory.CreateTempSubdirectory("proxy-broken-").FullName;
        await File.WriteAllTextAsync(Path.Combine(configDir, "proxy.json"), "{ not json");
        await File.WriteAllTextAsync(Path.Combine(configDir, "directory.json"), ProxyHarness.DirectoryJson);

        var build = () => ProxyApplication.Build(["--urls=http://127.0.0.1:0", $"--ConfigDir={configDir}"]);

        build.Should().Throw<InvalidOperationException>().WithMessage($"*{Path.Combine(configDir, "proxy.json")}*");
    }

    [Fact]
    public async Task The_last_good_source_keeps_its_data_when_an_edit_does_not_parse()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("proxy-lastgood-").FullName, "proxy.json");
        File.WriteAllText(path, """{"A":{"B":"1"}}""");
        var status = new ConfigFileStatus(path);
        var configuration = new ConfigurationBuilder().Add(new LastGoodJsonConfigurationSource(path, status)).Build();
        var rejected = new TaskCompletionSource();
        status.Changed += accepted =>
        {
            if (!accepted)
            {
                rejected.TrySetResult();
            }
        };

        await File.WriteAllTextAsync(path, """{"A":{"B":""");
        await rejected.Task.WaitAsync(TimeSpan.FromSeconds(15));

        configuration["A:B"].Should().Be("1");
        status.LastError.Should().NotBeNullOrEmpty();
    }
}
