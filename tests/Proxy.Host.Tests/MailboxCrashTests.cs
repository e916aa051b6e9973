using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// The promise of the mailbox: nothing accepted is lost. A proxy process accepts webhooks while the region is down,
/// is killed with SIGKILL in the middle of delivering them, and a new process on the same SQLite file delivers the rest.
/// </summary>
public sealed class MailboxCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Webhooks = 200;
    private const int Repositories = 4;
    private readonly string _dir = Directory.CreateTempSubdirectory("proxy-crash-").FullName;
    private SiloStub _region = null!;
    private SiloStub _control = null!;
    private readonly ConcurrentQueue<string> _log = new();

    public async ValueTask InitializeAsync()
    {
        _region = await SiloStub.StartAsync("us");
        _control = await SiloStub.StartAsync("control");
        await File.WriteAllTextAsync(Path.Combine(_dir, "directory.json"), """
            {
              "Organizations": [ { "Id": 1, "Slug": "acme", "Region": "us", "Status": "active" } ],
              "Integrations": [ { "Id": 20, "Provider": "github", "ExternalId": "2", "Status": "active", "Organizations": [1] } ]
            }
            """);
        await File.WriteAllTextAsync(Path.Combine(_dir, "proxy.json"), $$"""
            {
              "ReverseProxy": {
                "Routes": { "webhooks": { "ClusterId": "control", "Match": { "Path": "/extensions/{**rest}" }, "Metadata": { "IntegrationRouting": "true" } } },
                "Clusters": {
                  "control": { "Destinations": { "d1": { "Address": "{{_control.Address}}" } } },
                  "region-us": { "Metadata": { "Region": "us" }, "Destinations": { "d1": { "Address": "{{_region.Address}}" } } }
                }
              }
            }
            """);
    }

    private Process StartProxy(int port)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "Proxy.Host.dll"), $"--urls=http://127.0.0.1:{port}", $"--ConfigDir={_dir}",
            $"--Mailbox:DataDir={Path.Combine(_dir, "data")}", "--Mailbox:Backoff:InitialMinutes=0.001", "--Mailbox:Backoff:Rate=1.0",
            "--Mailbox:PollIntervalSeconds=0.05", "--Mailbox:MaxAttempts=100000",
            // Order is asserted below, and the region refuses while the webhooks come in: GitHub lanes strictly in order.
            "--Mailbox:Ordering:github=Strict", "--Mailbox:LeaseSeconds=5", "--Mailbox:DeliveryTimeoutSeconds=2", "--Logging:LogLevel:Default=Warning",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => _log.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => _log.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitReadyAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await client.GetAsync("/readyz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the proxy process did not become ready:\n" + string.Join('\n', _log));
    }

    private static (int Repository, int Sequence) Read(RecordedRequest request)
    {
        var root = JsonDocument.Parse(request.Body).RootElement;
        return ((int)root.GetProperty("repository").GetProperty("id").GetInt64(), root.GetProperty("seq").GetInt32());
    }

    [Fact]
    public async Task A_proxy_killed_mid_delivery_loses_nothing_and_a_new_process_delivers_the_rest_in_order()
    {
        // The region is down while the webhooks are accepted (retried every ~60 ms, never given up on).
        _region.Answer = (_, _) => new StubAnswer(503);
        var port = RedisServer.FreeTcpPort();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var first = StartProxy(port);
        await WaitReadyAsync(client);

        for (var i = 0; i < Webhooks; i++)
        {
            var body = Encoding.UTF8.GetBytes($$$"""{"seq":{{{i}}},"repository":{"id":{{{i % Repositories}}}},"installation":{"id":2}}""");
            var request = new HttpRequestMessage(HttpMethod.Post, "/extensions/github/webhook/") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.Add("X-GitHub-Event", "push");
            (await client.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        // The region comes back, slowly; the first process is killed once part of the backlog went out.
        var successes = new ConcurrentQueue<(int Repository, int Sequence)>();
        _region.Answer = (request, _) =>
        {
            successes.Enqueue(Read(request));
            return new StubAnswer(200, Delay: TimeSpan.FromMilliseconds(15));
        };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (successes.Count < Webhooks / 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();
        output.WriteLine($"killed the first process after {successes.Count} deliveries answered 200");

        var second = StartProxy(port);
        try
        {
            await WaitReadyAsync(client);
            var end = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < end && successes.Select(x => x.Sequence).Distinct().Count() < Webhooks)
            {
                await Task.Delay(50);
            }

            await Task.Delay(500);
        }
        finally
        {
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }

        successes.Select(x => x.Sequence).Distinct().Should().HaveCount(Webhooks, "no accepted webhook is lost");
        var duplicates = successes.Count - Webhooks;
        output.WriteLine($"delivered {successes.Count} times for {Webhooks} webhooks: {duplicates} duplicate(s) (at-least-once)");
        foreach (var mailbox in successes.GroupBy(x => x.Repository))
        {
            var firstSeen = mailbox.Select(x => x.Sequence).Distinct().ToList();
            firstSeen.Should().BeInAscendingOrder($"mailbox of repository {mailbox.Key} is delivered in order");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _region.DisposeAsync();
        await _control.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
