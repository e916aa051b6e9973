using System.Net;
using System.Text;
using Proxy.Mailbox;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>A proxy stopped while its regions hold deliveries: the stop costs no attempt, and the next process delivers at once.</summary>
public sealed class MailboxShutdownTests
{
    private static Task<HttpResponseMessage> SendPush(ProxyHarness proxy, int sequence)
        => proxy.PostAsync("/extensions/github/webhook/",
            Encoding.UTF8.GetBytes($$$"""{"ref":"refs/heads/main","seq":{{{sequence}}},"repository":{"id":42},"installation":{"id":2}}"""),
            "application/json", new Dictionary<string, string> { ["X-GitHub-Event"] = "push" });

    [Fact]
    public async Task A_stop_with_deliveries_in_flight_costs_no_attempt_and_a_restart_delivers_everything_without_backoff()
    {
        var data = Directory.CreateTempSubdirectory("proxy-shutdown-").FullName;
        try
        {
            // The default backoff (4.2 minutes after a counted attempt) would outlast the test by far.
            string[] settings = [$"Mailbox:DataDir={data}", "Mailbox:PollIntervalSeconds=0.05"];
            await using (var first = await ProxyHarness.StartAsync(null, settings))
            {
                foreach (var region in first.Regions.Values)
                {
                    region.Answer = (_, _) => new StubAnswer(200, Delay: TimeSpan.FromMinutes(10));
                }

                for (var i = 1; i <= 3; i++)
                {
                    (await SendPush(first, i)).StatusCode.Should().Be(HttpStatusCode.Accepted);
                }

                await first.Regions["eu"].WaitForRequestsAsync(1);
                await first.Regions["us"].WaitForRequestsAsync(1);
                var store = first.App.Services.GetRequiredService<IMailboxStore>();

                // The host's shutdown deadline comes while both regions still hold their deliveries.
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await first.App.StopAsync(deadline.Token);

                first.Regions["eu"].Requests.Should().ContainSingle("a stopping drainer starts nothing new");
                first.Regions["us"].Requests.Should().ContainSingle();
                var lanes = await store.ListMailboxesAsync(10, TestContext.Current.CancellationToken);
                lanes.Should().HaveCount(2).And.OnlyContain(l => l.Depth == 3 && l.HeadAttempts == 0,
                    "the cancelled sends were not attempts");
            }

            await using var second = await ProxyHarness.StartAsync(null, settings);
            foreach (var name in new[] { "eu", "us" })
            {
                var received = await second.Regions[name].WaitForRequestsAsync(3, TimeSpan.FromSeconds(30));
                received.Select(r => r.Header(MailboxHeaders.DeliveryAttempt)).Should().Equal(["1", "1", "1"],
                    $"{name} gets every webhook at once, each on its first counted attempt");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
