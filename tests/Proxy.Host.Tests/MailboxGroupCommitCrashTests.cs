using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Proxy.Mailbox;

namespace Proxy.Host.Tests;

/// <summary>
/// Group commit keeps the accept promise: many webhooks accepted at the same time share SQLite commits, and the proxy
/// process is killed with SIGKILL the moment enough answers came back, while other requests are still in flight.
/// Every webhook that was answered 202 must be in the file, for each of its regions.
/// </summary>
public sealed class MailboxGroupCommitCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Connections = 32;
    private const int AnswersBeforeKill = 400;
    private readonly string _dir = Directory.CreateTempSubdirectory("proxy-group-commit-").FullName;

    public async ValueTask InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "directory.json"), ProxyHarness.DirectoryJson);
        // Nothing is delivered (the drainer is off), so the clusters' addresses are never called.
        await File.WriteAllTextAsync(Path.Combine(_dir, "proxy.json"), """
            {
              "ReverseProxy": {
                "Routes": { "webhooks": { "ClusterId": "control", "Match": { "Path": "/extensions/{**rest}" }, "Metadata": { "IntegrationRouting": "true" } } },
                "Clusters": {
                  "control": { "Destinations": { "d1": { "Address": "http://127.0.0.1:9/" } } },
                  "region-eu": { "Metadata": { "Region": "eu" }, "Destinations": { "d1": { "Address": "http://127.0.0.1:9/" } } },
                  "region-us": { "Metadata": { "Region": "us" }, "Destinations": { "d1": { "Address": "http://127.0.0.1:9/" } } }
                }
              }
            }
            """);
    }

    [Fact]
    public async Task Group_commit_N_concurrent_accepts_SIGKILL_right_after_the_answers_every_202d_entry_is_in_the_store()
    {
        var proxy = ProxyProcess.Start($"ConfigDir={_dir}", $"Mailbox:DataDir={Path.Combine(_dir, "data")}", "Mailbox:DrainerEnabled=false");
        await proxy.WaitReadyAsync(_ => true);
        var accepted = new ConcurrentBag<int>();
        var next = 0;
        var killed = 0;
        var kill = new TaskCompletionSource();

        async Task SendAsync()
        {
            while (Volatile.Read(ref killed) == 0)
            {
                var sequence = Interlocked.Increment(ref next);
                // Installation 2 is installed in eu and us: each webhook is one body and two entries.
                var body = Encoding.UTF8.GetBytes($$$"""{"ref":"refs/heads/main","seq":{{{sequence}}},"repository":{"id":{{{sequence % 4}}}},"installation":{"id":2}}""");
                using var request = new HttpRequestMessage(HttpMethod.Post, "/extensions/github/webhook/") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new("application/json");
                request.Headers.Add("X-GitHub-Event", "push");
                request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
                HttpResponseMessage response;
                try
                {
                    response = await proxy.Client.SendAsync(request);
                }
                catch (HttpRequestException) when (Volatile.Read(ref killed) == 1)
                {
                    return;
                }

                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    accepted.Add(sequence);
                    if (accepted.Count >= AnswersBeforeKill && Interlocked.Exchange(ref killed, 1) == 0)
                    {
                        // Right after this answer, with the other connections' requests still in flight.
                        await proxy.KillAsync();
                        kill.SetResult();
                    }
                }
                else if (Volatile.Read(ref killed) == 0)
                {
                    throw new InvalidOperationException($"answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{proxy.Output}");
                }
            }
        }

        var senders = Enumerable.Range(0, Connections).Select(_ => Task.Run(SendAsync)).ToArray();
        await kill.Task.WaitAsync(TimeSpan.FromSeconds(120));
        await Task.WhenAll(senders);
        await proxy.DisposeAsync();

        var answered = accepted.ToHashSet();
        using var store = new SqliteMailboxStore(Path.Combine(_dir, "data", "mailbox.db"), SqliteDurability.Full, TimeProvider.System);
        var stored = new Dictionary<string, HashSet<int>>();
        foreach (var lane in await store.ListMailboxesAsync(1000))
        {
            var sequences = stored.TryGetValue(lane.Lane.Region, out var found) ? found : stored[lane.Lane.Region] = [];
            foreach (var entry in await store.PeekAsync(lane.Lane, 100_000))
            {
                sequences.Add(JsonDocument.Parse(entry.Body).RootElement.GetProperty("seq").GetInt32());
            }
        }

        output.WriteLine($"{answered.Count} webhooks answered 202 before the kill (of {next} sent); stored: "
            + string.Join(", ", stored.Select(s => $"{s.Key} {s.Value.Count}")));
        answered.Count.Should().BeGreaterThanOrEqualTo(AnswersBeforeKill);
        foreach (var region in new[] { "eu", "us" })
        {
            stored.Should().ContainKey(region);
            answered.Except(stored[region]).Should().BeEmpty($"every webhook answered 202 is in the {region} lanes after SIGKILL");
        }
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
