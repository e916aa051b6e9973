using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.FileSystemGlobbing;
using Microsoft.Extensions.FileSystemGlobbing.Abstractions;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// No container engine runs here, so the test does what <c>docker build</c> and <c>docker run</c> would: the build
/// stage's COPY steps (honouring .dockerignore) into a fresh folder and its RUN steps there, then the published output
/// started with the runtime stage's ENV, WORKDIR and ENTRYPOINT, probed by its HEALTHCHECK.
/// </summary>
public sealed partial class ContainerBuildTests
{
    [Fact]
    public async Task The_Dockerfile_build_publishes_a_host_that_starts_as_the_image_would_and_answers_readyz()
    {
        var root = RepositoryPaths.Root();
        var dockerfile = Dockerfile.Parse(await File.ReadAllTextAsync(Path.Combine(root, "Dockerfile")));
        var build = dockerfile.Stage("build");
        var runtime = dockerfile.Stage("runtime");

        // Layer caching: restore runs on the project files alone, before the sources are copied.
        var restore = build.FindIndex(i => i.Keyword == "RUN" && i.Argument.Contains("dotnet restore", StringComparison.Ordinal));
        var sources = build.FindIndex(i => i.Keyword == "COPY" && i.Argument.StartsWith("src/ ", StringComparison.Ordinal));
        restore.Should().BePositive();
        sources.Should().BeGreaterThan(restore, "the sources are copied after the restore layer");
        build.Take(restore).Where(i => i.Keyword == "COPY").SelectMany(i => i.Argument.Split(' ')[..^1])
            .Should().OnlyContain(source => source.EndsWith(".csproj", StringComparison.Ordinal) || source.EndsWith(".json", StringComparison.Ordinal)
                || source.EndsWith(".props", StringComparison.Ordinal) || source == ".editorconfig");
        var publish = build.Single(i => i.Keyword == "RUN" && i.Argument.Contains("dotnet publish", StringComparison.Ordinal)).Argument;
        publish.Should().Contain("-r linux-x64", "only this platform's native libraries are published");
        runtime.Should().Contain(i => i.Keyword == "USER" && i.Argument == "$APP_UID", "the image runs the host as a non-root user");

        // The build stage, in a folder of its own: what the COPY steps copy is all the build sees.
        var work = Directory.CreateTempSubdirectory("proxy-image-").FullName;
        var context = Path.Combine(work, "src");
        var app = Path.Combine(work, "app");
        try
        {
            var ignore = DockerIgnore(root);
            var workdir = context;
            foreach (var instruction in build)
            {
                switch (instruction.Keyword)
                {
                    case "WORKDIR":
                        instruction.Argument.Should().Be("/src");
                        break;
                    case "COPY":
                        Copy(root, instruction.Argument, workdir, ignore);
                        break;
                    case "RUN":
                        var (exitCode, log) = await RunAsync("bash", ["-c", instruction.Argument.Replace("/app", app, StringComparison.Ordinal)], workdir, new Dictionary<string, string>());
                        exitCode.Should().Be(0, $"RUN {instruction.Argument}\n{log}");
                        break;
                }
            }

            File.Exists(Path.Combine(app, "Proxy.Host.dll")).Should().BeTrue();
            File.Exists(Path.Combine(app, "config", "proxy.json")).Should().BeTrue();
            Directory.Exists(Path.Combine(app, "runtimes")).Should().BeFalse("no other platform's native libraries are published");
            File.Exists(Path.Combine(app, "libe_sqlite3.so")).Should().BeTrue("the linux-x64 SQLite library is");

            // The runtime stage: its ENV (with /app where the output is), WORKDIR /app and ENTRYPOINT, on a free port.
            runtime.Single(i => i.Keyword == "WORKDIR").Argument.Should().Be("/app");
            var environment = runtime.Where(i => i.Keyword == "ENV").SelectMany(i => EnvPairs(i.Argument))
                .ToDictionary(p => p.Key, p => p.Value.Replace("/app", app, StringComparison.Ordinal));
            environment.Should().ContainKey("ASPNETCORE_HTTP_PORTS", "the port is set by the environment");
            var port = RedisServer.FreeTcpPort();
            environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Directory.CreateDirectory(Path.Combine(app, "data"));
            var entrypoint = JsonArray(runtime.Single(i => i.Keyword == "ENTRYPOINT").Argument);
            var healthcheck = JsonArray(Regex.Match(runtime.Single(i => i.Keyword == "HEALTHCHECK").Argument, @"CMD\s+(\[.*\])").Groups[1].Value);

            var info = new ProcessStartInfo(entrypoint[0]) { WorkingDirectory = app };
            entrypoint.Skip(1).ToList().ForEach(info.ArgumentList.Add);
            SetEnvironment(info.Environment, environment);
            await using var proxy = ProxyProcess.Launch(info, port);
            await proxy.WaitReadyAsync(_ => true);

            (await proxy.Client.GetAsync("/readyz")).StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
            var (healthy, probeLog) = await RunAsync(healthcheck[0], healthcheck.Skip(1), app, environment);
            healthy.Should().Be(0, $"the HEALTHCHECK finds the proxy on the port the environment names: {probeLog}");
            probeLog.Should().Contain($"http://127.0.0.1:{port}/readyz answered 200");
            Directory.EnumerateFiles(Path.Combine(app, "data")).Should().Contain(f => f.EndsWith("mailbox.db", StringComparison.Ordinal),
                "the mailbox lives in the data volume the image names");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task The_healthcheck_verb_exits_1_with_one_line_when_nothing_answers()
    {
        var port = RedisServer.FreeTcpPort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Proxy.Host.dll");

        var (exitCode, log) = await RunAsync("dotnet", [dll, "healthcheck"], AppContext.BaseDirectory,
            new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://+:{port}" });

        exitCode.Should().Be(1);
        log.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith($"edge-proxy healthcheck: http://127.0.0.1:{port}/readyz did not answer");
    }

    [Theory]
    [InlineData("ASPNETCORE_URLS", "http://+:9000;http://+:9001", "http://127.0.0.1:9000/readyz")]
    [InlineData("URLS", "http://0.0.0.0:9002", "http://127.0.0.1:9002/readyz")]
    [InlineData("ASPNETCORE_HTTP_PORTS", "9003", "http://127.0.0.1:9003/readyz")]
    [InlineData("HTTP_PORTS", "9004;9005", "http://127.0.0.1:9004/readyz")]
    [InlineData("UNRELATED", "x", "http://127.0.0.1:8080/readyz")]
    public void The_healthcheck_asks_the_first_address_the_proxy_listens_on(string variable, string value, string expected)
    {
        var prefix = variable.StartsWith("ASPNETCORE_", StringComparison.Ordinal) ? "ASPNETCORE_" : "";
        var settings = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [variable[prefix.Length..]] = value })
            .Build();

        HealthProbe.ReadyzOf(settings).ToString().Should().Be(expected);
    }

    private static void SetEnvironment(IDictionary<string, string?> target, IReadOnlyDictionary<string, string> values)
    {
        // The image's environment alone decides the port: none of the runner's own settings leak in.
        foreach (var key in new[] { "ASPNETCORE_URLS", "URLS", "DOTNET_URLS", "ASPNETCORE_HTTPS_PORTS" })
        {
            target.Remove(key);
        }

        foreach (var (key, value) in values)
        {
            target[key] = value;
        }
    }

    private static async Task<(int ExitCode, string Log)> RunAsync(string file, IEnumerable<string> arguments, string workdir,
        IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workdir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        SetEnvironment(info.Environment, environment);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    /// <summary>COPY sources... dest, relative to the build context; directories are copied with their contents.</summary>
    private static void Copy(string contextRoot, string argument, string workdir, IReadOnlyList<string> ignore)
    {
        argument.Should().NotStartWith("--", "the build stage copies only from the build context");
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var destination = Path.Combine(workdir, parts[^1] == "./" ? "" : parts[^1]);
        foreach (var source in parts[..^1])
        {
            var path = Path.Combine(contextRoot, source);
            if (File.Exists(path))
            {
                var target = parts[^1].EndsWith('/') ? Path.Combine(destination, Path.GetFileName(path)) : destination;
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(path, target, overwrite: true);
                continue;
            }

            Directory.Exists(path).Should().BeTrue($"COPY source {source} exists");
            var matcher = new Matcher();
            matcher.AddInclude(source.TrimEnd('/') + "/**/*");
            foreach (var pattern in ignore)
            {
                matcher.AddExclude(pattern.TrimEnd('/'));
                matcher.AddExclude(pattern.TrimEnd('/') + "/**");
            }

            foreach (var file in matcher.Execute(new DirectoryInfoWrapper(new DirectoryInfo(contextRoot))).Files)
            {
                var target = Path.Combine(destination, Path.GetRelativePath(source, file.Path));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(Path.Combine(contextRoot, file.Path), target, overwrite: true);
            }
        }
    }

    private static List<string> DockerIgnore(string root) => File.ReadAllLines(Path.Combine(root, ".dockerignore"))
        .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

    private static IEnumerable<KeyValuePair<string, string>> EnvPairs(string argument)
        => EnvPair().Matches(argument).Select(m => KeyValuePair.Create(m.Groups[1].Value, m.Groups[2].Value));

    private static string[] JsonArray(string text) => JsonSerializer.Deserialize<string[]>(text)!;

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)=(\S+)")]
    private static partial Regex EnvPair();

    /// <summary>The Dockerfile's instructions by stage, continuation lines joined and comments dropped.</summary>
    private sealed record Dockerfile(Dictionary<string, List<Instruction>> Stages)
    {
        public List<Instruction> Stage(string name) => Stages[name];

        public static Dockerfile Parse(string text)
        {
            var stages = new Dictionary<string, List<Instruction>>();
            List<Instruction>? current = null;
            var logical = new List<string>();
            var pending = "";
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.TrimEnd();
                if (line.TrimStart().StartsWith('#') || (line.Length == 0 && pending.Length == 0))
                {
                    continue;
                }

                if (line.EndsWith('\\'))
                {
                    pending += line[..^1].Trim() + " ";
                    continue;
                }

                logical.Add((pending + line.Trim()).Trim());
                pending = "";
            }

            foreach (var line in logical.Where(l => l.Length > 0))
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var instruction = new Instruction(line[..space].ToUpperInvariant(), line[(space + 1)..].Trim());
                if (instruction.Keyword == "FROM")
                {
                    var name = instruction.Argument.Split(" AS ", StringSplitOptions.TrimEntries)[^1];
                    stages[name] = current = [];
                    continue;
                }

                current?.Add(instruction);
            }

            return new Dockerfile(stages);
        }
    }

    private sealed record Instruction(string Keyword, string Argument);
}
