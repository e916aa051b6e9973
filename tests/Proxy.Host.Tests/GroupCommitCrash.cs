using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Proxy.Mailbox;

namespace Proxy.Host.Tests;

/// <summary>
/// The group-commit crash scenario shared by the stores' tests: a config folder whose webhooks go to the mailbox for
/// eu and us (nothing is delivered: the tests turn the drainer off), many connections sending webhooks at once, the
/// proxy SIGKILLed the moment enough 202s came back, and what the store holds afterwards.
/// </summary>
internal static class GroupCommitCrash
{
    public const int Connections = 32;
    public const int AnswersBeforeKill = 400;

    /// <summary>The regions each webhook is stored for (installation 2 is installed in both): one body, two entries.</summary>
    public static readonly string[] Regions = ["eu", "us"];

    public static async Task WriteConfigAsync(string dir)
    {
        await File.WriteAllTextAsync(Path.Combine(dir, "directory.json"), ProxyHarness.DirectoryJson);
        // Nothing is delivered (the drainer is off), so the clusters' addresses are never called.
        await File.WriteAllTextAsync(Path.Combine(dir, "proxy.json"), """
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

    /// <summary>
    /// Sends webhooks over <see cref="Connections"/> connections until <see cref="AnswersBeforeKill"/> were answered 202,
    /// kills the proxy right after that answer (other requests still in flight) and returns the sequence numbers
    /// answered 202 and how many were sent. Any other answer before the kill fails the test.
    /// </summary>
    public static async Task<(HashSet<int> Answered, int Sent)> SendUntilKilledAsync(ProxyProcess proxy)
    {
        var accepted = new ConcurrentBag<int>();
        var next = 0;
        var killed = 0;
        var kill = new TaskCompletionSource();

        async Task SendAsync()
        {
            while (Volatile.Read(ref killed) == 0)
            {
                var sequence = Interlocked.Increment(ref next);
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
        return (accepted.ToHashSet(), Volatile.Read(ref next));
    }

    /// <summary>The sequence numbers of the webhooks in each region's lanes.</summary>
    public static async Task<Dictionary<string, HashSet<int>>> StoredAsync(IMailboxStore store)
    {
        var stored = new Dictionary<string, HashSet<int>>();
        foreach (var lane in await store.ListMailboxesAsync(1000))
        {
            var sequences = stored.TryGetValue(lane.Lane.Region, out var found) ? found : stored[lane.Lane.Region] = [];
            foreach (var entry in await store.PeekAsync(lane.Lane, 100_000))
            {
                sequences.Add(JsonDocument.Parse(entry.Body).RootElement.GetProperty("seq").GetInt32());
            }
        }

        return stored;
    }

    /// <summary>Every webhook answered 202 is in the lanes of each region, and enough were answered for that to mean something.</summary>
    public static void ShouldHoldEveryAnswered(Dictionary<string, HashSet<int>> stored, HashSet<int> answered, int sent, ITestOutputHelper output)
    {
        output.WriteLine($"{answered.Count} webhooks answered 202 before the kill (of {sent} sent); stored: "
            + string.Join(", ", stored.Select(s => $"{s.Key} {s.Value.Count}")));
        answered.Count.Should().BeGreaterThanOrEqualTo(AnswersBeforeKill);
        foreach (var region in Regions)
        {
            stored.Should().ContainKey(region);
            answered.Except(stored[region]).Should().BeEmpty($"every webhook answered 202 is in the {region} lanes after SIGKILL");
        }
    }
}
