using System.Diagnostics;
using System.Diagnostics.Metrics;
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

// Mailbox drain benchmark, loopback only, every loop bounded in count and time (accept is measured over HTTP by
// bench/mailbox/run.sh): a backlog spread over the mailboxes is loaded into the store, then the drainer delivers it
// to the region (deliveries/s, counted as the drainer's successful deliveries), with the process's RSS sampled while
// it drains: the peak, and the RSS when each quarter of the backlog was delivered (flat memory: the drainer reads lanes
// page by page). The region is the given URL (bench/mailbox/run.sh passes an nginx in its own process, so the region
// does not share this process's cores), else a Kestrel stub in this process.
// Redis first (the given server), then SQLite with at most 20,000 entries.
// Usage: Proxy.Mailbox.Bench <redis host:port> [backlog=1000000] [mailboxes=1000] [region URL]
var redis = args.ElementAtOrDefault(0) ?? throw new ArgumentException("usage: Proxy.Mailbox.Bench <redis host:port> [backlog] [mailboxes] [region URL]");
var backlog = Arg(1, 1_000_000);
var mailboxes = Arg(2, 1_000);
var regionUrl = args.ElementAtOrDefault(3);
var body = Encoding.UTF8.GetBytes("{\"action\":\"opened\",\"repository\":{\"id\":1234,\"full_name\":\"acme/widgets\"},\"pull_request\":{\"title\":\""
    + new string('x', 900) + "\"}}");
var work = Directory.CreateTempSubdirectory("mailbox-bench-").FullName;
Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}, body {body.Length} B");

try
{
    await using var stub = regionUrl is null ? await RegionStub.StartAsync() : null;
    var regionAddress = stub?.Address ?? new Uri(regionUrl!, UriKind.Absolute);
    using var delivered = new DeliveryCounter();
    Console.WriteLine($"region: {(stub is null ? regionAddress + " (its own process)" : "Kestrel stub in this process")}");
    Console.WriteLine();
    Console.WriteLine("| store | backlog | mailboxes | load s | drained | drain s | deliveries/s | RSS MB at 25/50/75/100 % | peak RSS MB | peak GC heap MB |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
    foreach (var (name, settings, size) in new[] { ("redis (AOF everysec)", Redis(), backlog), ("sqlite (synchronous=FULL)", Sqlite(), Math.Min(backlog, 20_000)) })
    {
        using var host = Host(settings, regionAddress, drainer: true);
        var store = host.Services.GetRequiredService<IMailboxStore>();
        var loading = Stopwatch.StartNew();
        await LoadAsync(store, size, mailboxes);
        var loadSeconds = loading.Elapsed.TotalSeconds;
        delivered.Reset();
        GC.Collect();
        var memory = new MemorySampler(size);
        var clock = Stopwatch.StartNew();
        await host.StartAsync();
        var drained = await delivered.WaitForAsync(size, TimeSpan.FromSeconds(1200), memory.Sample);
        var seconds = clock.Elapsed.TotalSeconds;
        await host.StopAsync();
        Console.WriteLine($"| {name} | {size} | {mailboxes} | {loadSeconds:F1} | {drained} | {seconds:F1} | {drained / seconds:F0} | "
            + $"{string.Join(" / ", memory.AtQuarters.Select(b => b == 0 ? "-" : (b / 1048576.0).ToString("F0", CultureInfo.InvariantCulture)))} | "
            + $"{memory.PeakWorkingSet / 1048576.0:F0} | {memory.PeakHeap / 1048576.0:F0} |");
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

IHost Host(Dictionary<string, string?> settings, Uri region, bool drainer)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
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
        Destinations = new Dictionary<string, DestinationConfig> { ["d1"] = new() { Address = region.ToString() } },
    }]).AddRegionRequests();
    builder.Services.AddWebhookMailbox(builder.Configuration);
    var app = builder.Build();
    // YARP loads its clusters (and tells RegionClusters about them) when the proxy is mapped, as in the host.
    app.MapReverseProxy();
    return app;
}

async Task LoadAsync(IMailboxStore store, int count, int lanes)
{
    var next = -1;
    // 64 concurrent appenders, as concurrent accepts would be: their appends share commits.
    await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
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

int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

/// <summary>The region when no URL is given: Kestrel on 127.0.0.1:0 answering 200 at once.</summary>
internal sealed class RegionStub : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RegionStub(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<RegionStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(_ => Task.CompletedTask);
        await app.StartAsync();
        return new RegionStub(app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Successful deliveries, from the drainer's own <c>mailbox.deliveries{proxy.outcome=ok}</c> counter.</summary>
internal sealed class DeliveryCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _ok;

    public DeliveryCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MailboxTelemetry.MeterName && instrument.Name == "mailbox.deliveries")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "proxy.outcome" && Equals(tag.Value, "ok"))
                {
                    Interlocked.Add(ref _ok, value);
                }
            }
        });
        _listener.Start();
    }

    public void Reset() => Interlocked.Exchange(ref _ok, 0);

    /// <summary>Waits until <paramref name="count"/> were delivered or the time is up; returns how many were.</summary>
    public async Task<long> WaitForAsync(int count, TimeSpan limit, Action<long> sample)
    {
        var clock = Stopwatch.StartNew();
        while (Interlocked.Read(ref _ok) < count && clock.Elapsed < limit)
        {
            sample(Interlocked.Read(ref _ok));
            await Task.Delay(100);
        }

        sample(Interlocked.Read(ref _ok));
        return Interlocked.Read(ref _ok);
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>RSS (working set) and GC heap while a backlog of <c>total</c> drains: the peaks, and the RSS at each quarter delivered.</summary>
internal sealed class MemorySampler(int total)
{
    public long PeakWorkingSet { get; private set; }

    public long PeakHeap { get; private set; }

    public long[] AtQuarters { get; } = new long[4];

    public void Sample(long delivered)
    {
        using var process = Process.GetCurrentProcess();
        var rss = process.WorkingSet64;
        PeakWorkingSet = Math.Max(PeakWorkingSet, rss);
        PeakHeap = Math.Max(PeakHeap, GC.GetTotalMemory(forceFullCollection: false));
        for (var q = 0; q < 4; q++)
        {
            if (AtQuarters[q] == 0 && delivered >= (long)total * (q + 1) / 4)
            {
                AtQuarters[q] = rss;
            }
        }
    }
}
