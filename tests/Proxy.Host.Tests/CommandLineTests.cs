namespace Proxy.Host.Tests;

/// <summary>The built host as an operator runs it: <c>dotnet Proxy.Host.dll …</c>, its exit code and what it prints.</summary>
public class CommandLineTests
{
    private static readonly TimeSpan Exit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Help_lists_every_verb_and_the_main_settings_and_exits_0_without_starting()
    {
        // --Urls after --help is a setting, not a value --help would swallow.
        await using var proxy = ProxyProcess.StartWithArguments("--help", "--Urls=http://127.0.0.1:1");

        (await proxy.WaitForExitAsync(Exit)).Should().Be(0);
        proxy.Output.Should().Contain("check-config").And.Contain("--check-config").And.Contain("--demo").And.Contain("--billing-only")
            .And.Contain("--version").And.Contain("--Urls=").And.Contain("--ConfigDir=").And.Contain("--Admin:ApiKey=")
            .And.Contain("OTEL_EXPORTER_OTLP_ENDPOINT");
        proxy.Output.Should().NotContain("started");
        proxy.Output.Should().Contain("edge-proxy [command] [options]", "the usage line names the program, not the dll");
    }

    [Fact]
    public async Task Version_prints_one_line_and_exits_0()
    {
        await using var proxy = ProxyProcess.StartWithArguments("--version");

        (await proxy.WaitForExitAsync(Exit)).Should().Be(0);
        proxy.Lines.Should().ContainSingle().Which.Should().MatchRegex(@"^\d+\.\d+\.\d+");
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--urls=http://127.0.0.1:0", "--verbose")]
    [InlineData("--Urls", "http://127.0.0.1:0", "serve")]
    [InlineData("Colour=blue")]
    public async Task An_unknown_flag_is_refused_in_one_line_with_exit_code_1(params string[] arguments)
    {
        await using var proxy = ProxyProcess.StartWithArguments(arguments);

        (await proxy.WaitForExitAsync(Exit)).Should().Be(1);
        proxy.Lines.Should().ContainSingle().Which.Should().StartWith("edge-proxy: Unrecognized command or argument '")
            .And.Contain(arguments[^1]).And.EndWith("(see --help)");
    }

    [Fact]
    public async Task A_bad_setting_is_one_line_naming_the_key_with_exit_code_1()
    {
        await using var proxy = ProxyProcess.StartWithArguments("--urls=http://127.0.0.1:0", "--Routing:SyncDeadline", "-00:00:01");

        (await proxy.WaitForExitAsync(Exit)).Should().Be(1);
        proxy.Lines.Should().ContainSingle().Which.Should().StartWith("edge-proxy: cannot start:").And.Contain("Routing:SyncDeadline");
    }

    [Fact]
    public async Task The_check_config_verb_and_flag_exit_0_on_the_shipped_config()
    {
        var folder = ConfigCheckTests.WriteFolder(ConfigCheckTests.GoodRoutes, ConfigCheckTests.GoodDirectory);

        await using var verb = ProxyProcess.StartWithArguments("check-config", folder);
        await using var flag = ProxyProcess.StartWithArguments($"--ConfigDir={folder}", "--check-config");

        (await verb.WaitForExitAsync(Exit)).Should().Be(0, verb.Output);
        (await flag.WaitForExitAsync(Exit)).Should().Be(0, flag.Output);
        verb.Lines.Should().ContainSingle().Which.Should().Contain(folder).And.Contain("can go live");
    }

    [Fact]
    public async Task Check_config_exits_1_with_one_line_per_problem()
    {
        var routes = ConfigCheckTests.GoodRoutes.Replace("\"ClusterId\": \"control\"", "\"ClusterId\": \"nowhere\"", StringComparison.Ordinal)
            .Replace("\"Address\": \"http://127.0.0.1:5102/\"", "\"Adress\": \"http://127.0.0.1:5102/\"", StringComparison.Ordinal);
        var folder = ConfigCheckTests.WriteFolder(routes, ConfigCheckTests.GoodDirectory);

        await using var proxy = ProxyProcess.StartWithArguments("check-config", folder);

        (await proxy.WaitForExitAsync(Exit)).Should().Be(1);
        proxy.Lines.Should().BeEquivalentTo(
            $"proxy.json line {ConfigCheckTests.Line(routes, "nowhere")}: route 'webhooks' names cluster 'nowhere', which is not among the clusters",
            $"proxy.json line {ConfigCheckTests.Line(routes, "Adress")}: cluster 'region-eu' destination 'eu-1': unknown field 'Adress'",
            $"proxy.json line {ConfigCheckTests.Line(routes, "\"region-eu\": {")}: cluster 'region-eu': No address found for destination 'eu-1' on cluster 'region-eu'.");
    }

    [Fact]
    public async Task The_start_banner_names_version_addresses_config_counts_directory_mailbox_billing_and_otlp()
    {
        var folder = ConfigCheckTests.WriteFolder(ConfigCheckTests.GoodRoutes, ConfigCheckTests.GoodDirectory);
        await using var proxy = ProxyProcess.Start($"ConfigDir={folder}", $"Mailbox:DataDir={Path.Combine(folder, "data")}",
            "Logging:LogLevel:Proxy.Host.StartBanner=Information");

        await proxy.WaitReadyAsync(_ => true);
        await Eventually(() => proxy.Output.Contains("OTLP: ", StringComparison.Ordinal));

        proxy.Output.Should().MatchRegex(@"edge-proxy \d+\.\d+\.\d+\S* started")
            .And.MatchRegex(@"listening on: http://127\.0\.0\.1:\d+")
            .And.Contain($"config folder: {folder}")
            .And.Contain("routes: 1, clusters: 3, regions: eu, us")
            .And.Contain($"directory: File {Path.Combine(folder, "directory.json")}: 1 integrations, 2 organizations")
            .And.Contain($"mailbox: SQLite {Path.Combine(folder, "data", "mailbox.db")}, 0 pending")
            .And.Contain("billing: off")
            .And.Contain("OTLP: off");
    }

    [Fact]
    public async Task A_routine_upstream_failure_is_one_log_line_without_a_stack_trace()
    {
        using var dead = new Proxy.Testing.RefusedPort();
        var folder = ConfigCheckTests.WriteFolder(
            ConfigCheckTests.GoodRoutes.Replace("http://127.0.0.1:5101/", dead.Address.ToString(), StringComparison.Ordinal), ConfigCheckTests.GoodDirectory);
        await using var proxy = ProxyProcess.Start($"ConfigDir={folder}", $"Mailbox:DataDir={Path.Combine(folder, "data")}");
        await proxy.WaitReadyAsync(_ => true);

        var answer = await proxy.Client.PostAsync("/extensions/slack/event/",
            new StringContent("""{"type":"url_verification","challenge":"c"}""", System.Text.Encoding.UTF8, "application/json"));
        await Eventually(() => proxy.Output.Contains("Forwarding a slack webhook to control failed", StringComparison.Ordinal));

        ((int)answer.StatusCode).Should().Be(502);
        proxy.Lines.Should().ContainSingle(l => l.Contains("Forwarding a slack webhook to control failed (", StringComparison.Ordinal));
        proxy.Lines.Should().NotContain(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal), "no stack trace:\n" + proxy.Output);
        proxy.Output.Should().NotContain("HttpRequestException");
    }

    private static async Task Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        condition().Should().BeTrue();
    }

    [Theory]
    [InlineData(new[] { "--Urls", "http://x:1", "--demo" }, new[] { "--Urls", "http://x:1" }, new[] { "--demo" })]
    [InlineData(new[] { "--Routing:SyncDeadline=00:00:01", "/Limits:MaxRequestHeaderCount=5", "Redis:ConnectionString=r:6379" },
        new[] { "--Routing:SyncDeadline=00:00:01", "/Limits:MaxRequestHeaderCount=5", "Redis:ConnectionString=r:6379" }, new string[0])]
    [InlineData(new[] { "--Mailbox__DataDir", "/tmp/m", "check-config", "dir" }, new[] { "--Mailbox__DataDir", "/tmp/m" }, new[] { "check-config", "dir" })]
    [InlineData(new[] { "--help", "--Urls=http://x:1" }, new[] { "--Urls=http://x:1" }, new[] { "--help" })]
    [InlineData(new[] { "--Urls", "--demo" }, new string[0], new[] { "--Urls", "--demo" })]
    [InlineData(new[] { "--Colour=blue", "--OTEL_SERVICE_NAME=x" }, new[] { "--OTEL_SERVICE_NAME=x" }, new[] { "--Colour=blue" })]
    public void Settings_of_known_sections_pass_to_the_host_and_the_rest_goes_to_the_parser(string[] args, string[] settings, string[] tokens)
    {
        var (foundSettings, foundTokens) = ProxyCommandLine.SplitSettings(args, ProxyCommandLine.KnownRoots(AppContext.BaseDirectory));

        foundSettings.Should().Equal(settings);
        foundTokens.Should().Equal(tokens);
    }
}
