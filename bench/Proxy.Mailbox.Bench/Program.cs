using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Proxy.Mailbox;
using Proxy.Routing;
using Proxy.Routing.Dispatch;
using Yarp.ReverseProxy.Configuration;

// Mailbox benchmark, loopback only, every loop bounded in count and time:
//   1. accept latency: appends at a steady rate on SQLite and on Redis (p50/p99/max);
//   2. drain: a backlog spread over 1,000 mailboxes delivered to a fast Kestrel region stub (deliveries/s),
//      with working set and GC heap sampled while it drains.
// Usage: Proxy.Mailbox.Bench <redis host:port> [appends=5000] [rate/s=500] [backlog=100000] [mailboxes=1000]
var redis = args.ElementAtOrDefault(0) ?? throw new ArgumentException("usage: Proxy.Mailbox.Bench <redis host:port> [appends] [rate] [backlog] [mailboxes]");
var appends = Arg(1, 5_000);
var rate = Arg(2, 500);
var backlog = Arg(3, 100_000);
var mailboxes = Arg(4, 1_000);
var body = Encoding.UTF8.GetBytes("{\"action\":\"opened\",\"repository\":{\"id\":1234,\"full_name\":\"acme/widgets\"},\"pull_request\":{\"title\":\""
    + new string('x', 900) + "\"}}");
var work = Directory.CreateTempSubdirectory("mailbox-bench-").FullName;
Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}, body {body.Length} B");

try
{
    await using var region = await RegionStub.StartAsync();
    Console.WriteLine();
    Console.WriteLine("| store | appends | rate | p50 ms | p99 ms | max ms |");
    Console.WriteLine("|---|---|---|---|---|---|");
    foreach (var (name, settings) in new[] { ("sqlite (synchronous=FULL)", Sqlite()), ("redis", Redis()) })
    {
        using var host = Host(settings, region, drainer: false);
        await host.StartAsync();
        var latencies = await AppendAtRateAsync(host.Services.GetRequiredService<IMailboxStore>(), appends, rate);
        Array.Sort(latencies);
        Console.WriteLine($"| {name} | {appends} | {rate}/s | {Pct(latencies, 0.50):F3} | {Pct(latencies, 0.99):F3} | {latencies[^1]:F3} |");
        await host.StopAsync();
    }

    Console.WriteLine();
    Console.WriteLine("| store | backlog | mailboxes | drained | seconds | deliveries/s | peak working set MB | peak GC heap MB |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|");
    foreach (var (name, settings, size) in new[] { ("redis", Redis(), backlog), ("sqlite", Sqlite(), Math.Min(backlog, 20_000)) })
    {
        using var host = Host(settings, region, drainer: true);
        var store = host.Services.GetRequiredService<IMailboxStore>();
        await LoadAsync(store, size, mailboxes);
        region.Reset();
        var memory = new MemorySampler();
        var clock = Stopwatch.StartNew();
        await host.StartAsync();
        var drained = await region.WaitForAsync(size, TimeSpan.FromSeconds(300), memory.Sample);
        var seconds = clock.Elapsed.TotalSeconds;
        await host.StopAsync();
        Console.WriteLine($"| {name} | {size} | {mailboxes} | {drained} | {seconds:F1} | {drained / seconds:F0} | {memory.PeakWorkingSet / 1048576.0:F0} | {memory.PeakHeap / 1048576.0:F0} |");
    }
}
finally
{
    Directory.Delete(work, recursive: true);
}

Dictionary<string, string?> Sqlite() => new() { ["Mailbox:DataDir"] = Path.Combine(work, Guid.NewGuid().ToString("N")) };

Dictionary<string, string?> Redis() => new()
{
    ["Mailbox:Redis:ConnectionString"] = redis,
    ["Mailbox:Redis:KeyPrefix"] = "bench" + Guid.NewGuid().ToString("N")[..8],
};

IHost Host(Dictionary<string, string?> settings, RegionStub region, bool drainer)
{
    var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders();
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
    {
        ["Mailbox:DrainerEnabled"] = drainer ? "true" : "false",
        ["Mailbox:MaxConcurrentMailboxes"] = "64",
    });
    // The region is a YARP cluster, as in the host: deliveries go through RegionRequestBuilder and the cluster's client.
    builder.Services.AddReverseProxy().LoadFromMemory([], [new ClusterConfig
    {
        ClusterId = "region-us",
        Metadata = new Dictionary<string, string> { [RegionClusters.RegionMetadataKey] = "us" },
        Destinations = new Dictionary<string, DestinationConfig> { ["d1"] = new() { Address = region.Address.ToString() } },
    }]).AddRegionRequests();
    builder.Services.AddWebhookMailbox(builder.Configuration);
    return builder.Build();
}

async Task<double[]> AppendAtRateAsync(IMailboxStore store, int count, int perSecond)
{
    for (var i = 0; i < Math.Min(500, count); i++)
    {
        await store.AppendAsync(Webhook($"warmup:{i % 50}"));
    }

    // Four callers, as concurrent requests would be, each on its own schedule; the whole run is bounded by count.
    const int callers = 4;
    var latencies = new double[count];
    var interval = TimeSpan.FromSeconds(callers / (double)perSecond);
    var start = Stopwatch.GetTimestamp();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
    {
        for (var i = caller; i < count; i += callers)
        {
            var due = start + (long)((i / callers) * interval.TotalSeconds * Stopwatch.Frequency) + caller * Stopwatch.Frequency / perSecond;
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var began = Stopwatch.GetTimestamp();
            await store.AppendAsync(Webhook($"github:{i % 200}"));
            latencies[i] = Stopwatch.GetElapsedTime(began).TotalMilliseconds;
        }
    })));
    return latencies;
}

async Task LoadAsync(IMailboxStore store, int count, int lanes)
{
    var next = -1;
    await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < count)
        {
            await store.AppendAsync(Webhook($"github:{i % lanes}"));
        }
    })));
}

IReadOnlyList<MailboxEntry> Webhook(string mailbox) =>
    MailboxEntry.ForRegions(mailbox, ["us"], "POST", "/extensions/github/webhook/",
        [new("Content-Type", "application/json"), new("X-GitHub-Event", "pull_request")], body, DateTimeOffset.UtcNow);

static double Pct(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

/// <summary>The region: Kestrel on 127.0.0.1:0 answering 200 at once, counting what it receives.</summary>
internal sealed class RegionStub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private Uri _address = null!;
    private long _received;

    private RegionStub(WebApplication app) => _app = app;

    public static async Task<RegionStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stub = new RegionStub(app);
        app.Run(context =>
        {
            Interlocked.Increment(ref stub._received);
            return Task.CompletedTask;
        });
        await app.StartAsync();
        stub._address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return stub;
    }

    public void Reset() => Interlocked.Exchange(ref _received, 0);

    public Uri Address => _address;

    /// <summary>Waits until <paramref name="count"/> requests arrived or the time is up; returns how many did.</summary>
    public async Task<long> WaitForAsync(int count, TimeSpan limit, Action sample)
    {
        var clock = Stopwatch.StartNew();
        while (Interlocked.Read(ref _received) < count && clock.Elapsed < limit)
        {
            sample();
            await Task.Delay(100);
        }

        sample();
        return Interlocked.Read(ref _received);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed class MemorySampler
{
    public long PeakWorkingSet { get; private set; }

    public long PeakHeap { get; private set; }

    public void Sample()
    {
        using var process = Process.GetCurrentProcess();
        PeakWorkingSet = Math.Max(PeakWorkingSet, process.WorkingSet64);
        PeakHeap = Math.Max(PeakHeap, GC.GetTotalMemory(forceFullCollection: false));
    }
}
