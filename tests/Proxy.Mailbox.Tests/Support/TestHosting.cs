using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

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

    public DrainerHarness(IMailboxDelivery delivery, Action<MailboxOptions>? configure = null, Func<TimeProvider, IMailboxStore>? store = null, FakeTimeProvider? time = null)
    {
        Time = time ?? new FakeTimeProvider(TestEntries.Start);
        configure?.Invoke(Options);
        Metrics = new MailboxMetrics(MeterFactory, Time);
        Store = store?.Invoke(Time) ?? new SqliteMailboxStore(Path.Combine(_directory.Path, "mailbox.db"), SqliteDurability.Normal, Time, Metrics);
        Drainer = new MailboxDrainer(Store, delivery, Signal, Metrics, new FixedOptionsMonitor<MailboxOptions>(Options), Time, NullLogger<MailboxDrainer>.Instance);
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

/// <summary>Regions by name, each an invoker over its own SocketsHttpHandler, as the host builds them over YARP clusters.</summary>
internal sealed class StaticRegionEndpoints : IRegionEndpoints, IDisposable
{
    private readonly Dictionary<string, (HttpMessageInvoker Invoker, Uri Address)> _regions = [];

    public StaticRegionEndpoints Add(string region, Uri address)
    {
        _regions[region] = (new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false }), address);
        return this;
    }

    public bool TryGet(string region, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HttpMessageInvoker? invoker, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? baseAddress)
    {
        if (_regions.TryGetValue(region, out var found))
        {
            (invoker, baseAddress) = found;
            return true;
        }

        invoker = null;
        baseAddress = null;
        return false;
    }

    public void Dispose()
    {
        foreach (var (invoker, _) in _regions.Values)
        {
            invoker.Dispose();
        }
    }
}
