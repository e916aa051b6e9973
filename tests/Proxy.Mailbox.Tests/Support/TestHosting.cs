using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Proxy.Routing;
using Proxy.Routing.Dispatch;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Proxy.Mailbox.Tests;

internal sealed class FixedOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

/// <summary>A drainer over a real SQLite store (or a given store), fake time and a delivery the test scripts.</summary>
internal sealed class DrainerHarness : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    /// <param name="ordering">Given to the default SQLite store and to the drainer (a given store must have it too); null: every lane strict.</param>
    public DrainerHarness(IMailboxDelivery delivery, Action<MailboxOptions>? configure = null, Func<TimeProvider, IMailboxStore>? store = null, FakeTimeProvider? time = null,
        MailboxOrdering? ordering = null)
    {
        Time = time ?? new FakeTimeProvider(TestEntries.Start);
        configure?.Invoke(Options);
        Metrics = new MailboxMetrics(MeterFactory, Time);
        Store = store?.Invoke(Time) ?? new SqliteMailboxStore(Path.Combine(_directory.Path, "mailbox.db"), SqliteDurability.Normal, Time, Metrics, ordering);
        Drainer = new MailboxDrainer(Store, delivery, Signal, Metrics, new FixedOptionsMonitor<MailboxOptions>(Options), Time, NullLogger<MailboxDrainer>.Instance,
            ordering: ordering);
    }

    public FakeTimeProvider Time { get; }

    public MailboxOptions Options { get; } = new();

    public IMeterFactory MeterFactory => _services.GetRequiredService<IMeterFactory>();

    public MailboxMetrics Metrics { get; }

    public MailboxSignal Signal { get; } = new();

    public IMailboxStore Store { get; }

    public MailboxDrainer Drainer { get; }

    public Task RunOnceAsync() => Drainer.RunOnceAsync(TestContext.Current.CancellationToken);

    public void Dispose()
    {
        Drainer.Dispose();
        (Store as IDisposable)?.Dispose();
        _services.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}

/// <summary>A delivery whose answers the test decides, recording every call with the time it was made.</summary>
internal sealed class ScriptedDelivery(TimeProvider time, Func<MailboxEntry, int, Task<DeliveryResult>>? answer = null) : IMailboxDelivery
{
    private int _calls;

    public ConcurrentQueue<(MailboxEntry Entry, DateTimeOffset At)> Calls { get; } = new();

    public Func<MailboxEntry, int, Task<DeliveryResult>> Answer { get; set; } = answer ?? ((_, _) => Task.FromResult(DeliveryResult.Answered(200)));

    public Task<DeliveryResult> DeliverAsync(MailboxEntry entry, CancellationToken cancellationToken)
    {
        Calls.Enqueue((entry, time.GetUtcNow()));
        return Answer(entry, Interlocked.Increment(ref _calls));
    }
}

/// <summary>
/// Region clusters as the host has them: YARP clusters loaded from memory (one destination each, the region named in
/// the cluster's metadata) and the <see cref="RegionRequestBuilder"/> every region send goes through. YARP loads its
/// configuration when the proxy is mapped, so a small web application maps it (it never listens).
/// </summary>
internal sealed class TestRegionClusters : IDisposable
{
    private readonly Dictionary<string, (Uri Address, ForwarderRequestConfig? Request)> _regions = [];
    private WebApplication? _app;

    public TestRegionClusters Add(string region, Uri address, ForwarderRequestConfig? request = null)
    {
        _regions[region] = (address, request);
        return this;
    }

    public RegionRequestBuilder Builder
    {
        get
        {
            if (_app is null)
            {
                var clusters = _regions.Select(r => new ClusterConfig
                {
                    ClusterId = "region-" + r.Key,
                    Metadata = new Dictionary<string, string> { [RegionClusters.RegionMetadataKey] = r.Key },
                    HttpRequest = r.Value.Request,
                    Destinations = new Dictionary<string, DestinationConfig> { ["d1"] = new() { Address = r.Value.Address.ToString() } },
                }).ToList();
                var builder = WebApplication.CreateSlimBuilder();
                builder.Logging.ClearProviders();
                builder.Services.AddReverseProxy().LoadFromMemory([], clusters).AddRegionRequests();
                _app = builder.Build();
                _app.MapReverseProxy();
            }

            return _app.Services.GetRequiredService<RegionRequestBuilder>();
        }
    }

    public void Dispose() => _app?.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
