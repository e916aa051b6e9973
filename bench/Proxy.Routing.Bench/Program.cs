using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Proxy.Routing;
using Proxy.Routing.Parsers;
using Proxy.Routing.Regions;
using Proxy.Routing.Requests;

// Per-request costs of the routing step, each measured alone on one thread: parse, resolve (file directory), both.
// The figures are medians of rounds: | case | time per call | bytes allocated per call |.
const int Iterations = 200_000;
const int Rounds = 5;
var dir = Directory.CreateTempSubdirectory("routing-bench-").FullName;
File.WriteAllText(Path.Combine(dir, "directory.json"), File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "../../../../routing/config/directory.json")));
var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConfigDir"] = dir }).Build();
var services = new ServiceCollection().AddLogging();
services.AddReverseProxy().AddIntegrationRouting(configuration);
using var provider = services.BuildServiceProvider();
var resolver = provider.GetRequiredService<IRegionDirectory>();
var slack = new SlackParser();

IHeaderDictionary formHeaders = new HeaderDictionary { ["Content-Type"] = "application/x-www-form-urlencoded" };
var command = new WebhookRequest("POST", "/extensions/slack/commands/", QueryString.Empty, formHeaders,
    Encoding.UTF8.GetBytes("token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=TBENCH&team_domain=example&channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve&command=%2Fsentry&text=help&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678&trigger_id=13345224609.738474920.8088930838d88f008e0"));
IHeaderDictionary jsonHeaders = new HeaderDictionary { ["Content-Type"] = "application/json" };
var evt = new WebhookRequest("POST", "/extensions/slack/event/", QueryString.Empty, jsonHeaders,
    Encoding.UTF8.GetBytes("""{"token":"XXYYZZ","team_id":"TBENCH","api_app_id":"A0123456789","event":{"type":"message","channel":"C2147483705","user":"U2147483697","text":"Hello world","ts":"1355517523.000005"},"type":"event_callback","event_id":"Ev0123456789","event_time":1355517523}"""));
var target = new RoutingTarget.ExternalIntegration("slack", "TBENCH");

Measure("parse slash command (form)", () => slack.Parse(command));
Measure("parse event (JSON)", () => slack.Parse(evt));
await MeasureAsync("resolve regions (file directory)", async () => await resolver.ResolveAsync(target, CancellationToken.None));
await MeasureAsync("parse + resolve", async () =>
{
    var intent = (RoutingIntent.ToRegions)slack.Parse(command);
    await resolver.ResolveAsync(intent.Target, CancellationToken.None);
});

// Each case warms up for a second (tiered JIT reaches its final code), then runs Rounds rounds; the median round is
// reported, so a round slowed by another process on the machine does not set the figure.
static void Measure(string name, Action action) => MeasureAsync(name, () => { action(); return Task.CompletedTask; }).GetAwaiter().GetResult();

static async Task MeasureAsync(string name, Func<Task> action)
{
    var warmup = Stopwatch.StartNew();
    while (warmup.Elapsed < TimeSpan.FromSeconds(1))
    {
        await action();
    }

    var rounds = new List<(double Microseconds, long Bytes)>();
    for (var round = 0; round < Rounds; round++)
    {
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Iterations; i++)
        {
            await action();
        }

        rounds.Add((watch.Elapsed.TotalNanoseconds / Iterations / 1000, (GC.GetTotalAllocatedBytes(precise: true) - allocated) / Iterations));
    }

    rounds.Sort();
    var (microseconds, bytes) = rounds[Rounds / 2];
    Console.WriteLine($"| {name} | {microseconds:0.00} µs | {bytes} B |");
}
