using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// The README's quick start, <c>dotnet run --project src/Proxy.Host -- --demo</c>: the proxy works in the folder
/// <c>dotnet run</c> was started from (a checkout), not in the copy of config/ under bin/.
/// </summary>
public sealed class QuickStartTests
{
    [Fact]
    public async Task Dotnet_run_from_a_checkout_serves_and_watches_that_checkouts_demo_config_and_writes_its_data_there()
    {
        var root = RepositoryPaths.Root();
        var checkout = Directory.CreateTempSubdirectory("proxy-checkout-").FullName;
        try
        {
            // A checkout of its own, whose demo routes name the silos' free ports: only this folder's config can route.
            var silos = new[] { "control", "eu", "us" }.ToDictionary(s => s, _ => RedisServer.FreeTcpPort());
            Directory.CreateDirectory(Path.Combine(checkout, "config", "demo"));
            File.Copy(Path.Combine(root, "appsettings.json"), Path.Combine(checkout, "appsettings.json"));
            var routes = await File.ReadAllTextAsync(Path.Combine(root, "config", "demo", "proxy.json"));
            foreach (var (silo, defaultPort) in new[] { ("control", 5101), ("eu", 5102), ("us", 5103) })
            {
                routes.Should().Contain($"127.0.0.1:{defaultPort}/");
                routes = routes.Replace($"127.0.0.1:{defaultPort}/", $"127.0.0.1:{silos[silo]}/", StringComparison.Ordinal);
            }

            await File.WriteAllTextAsync(Path.Combine(checkout, "config", "demo", "proxy.json"), routes);
            var directoryFile = Path.Combine(checkout, "config", "demo", "directory.json");
            File.Copy(Path.Combine(root, "config", "demo", "directory.json"), directoryFile);

            var port = RedisServer.FreeTcpPort();
            var info = new ProcessStartInfo("dotnet") { WorkingDirectory = checkout };
            foreach (var argument in new[]
            {
                "run", "--project", Path.Combine(root, "src", "Proxy.Host", "Proxy.Host.csproj"), "-c", "Release", "--no-build", "--",
                "--demo", $"--urls=http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning",
            })
            {
                info.ArgumentList.Add(argument);
            }

            foreach (var (silo, siloPort) in silos)
            {
                info.ArgumentList.Add($"--Demo:Silos:{silo}=http://127.0.0.1:{siloPort.ToString(CultureInfo.InvariantCulture)}");
            }

            await using var proxy = ProxyProcess.Launch(info, port);
            // dotnet run evaluates the project before it starts the host: that takes seconds of its own.
            await proxy.WaitReadyAsync(_ => true, TimeSpan.FromSeconds(120));
            (await AnsweredByAsync(proxy)).Should().Be("eu", "T0002's organizations are in eu and us: the first region answers");

            // The README's edit: organization 2 (globex) moves to us, in the checkout's file.
            var directory = await File.ReadAllTextAsync(directoryFile);
            await File.WriteAllTextAsync(directoryFile, directory.Replace("\"Slug\": \"globex\", \"Region\": \"eu\"",
                "\"Slug\": \"globex\", \"Region\": \"us\"", StringComparison.Ordinal));
            var answeredBy = "eu";
            for (var attempt = 0; attempt < 300 && answeredBy == "eu"; attempt++)
            {
                await Task.Delay(50);
                answeredBy = await AnsweredByAsync(proxy);
            }

            answeredBy.Should().Be("us", "the edit of the checkout's directory is live without a restart\n" + proxy.Output);
            File.Exists(Path.Combine(checkout, "data", "mailbox.db")).Should().BeTrue("the mailbox is written to the checkout's data/");
        }
        finally
        {
            Directory.Delete(checkout, recursive: true);
        }
    }

    private static async Task<string?> AnsweredByAsync(ProxyProcess proxy)
    {
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["team_id"] = "T0002", ["command"] = "/sentry", ["text"] = "help" });
        using var response = await proxy.Client.PostAsync("/extensions/slack/commands/", content);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return answer.RootElement.GetProperty("answeredBy").GetString();
    }
}
