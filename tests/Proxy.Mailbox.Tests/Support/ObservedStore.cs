using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using StackExchange.Redis;

namespace Proxy.Mailbox.Tests;

/// <summary>A Redis store with its metrics and log collected.</summary>
internal sealed class ObservedStore : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public ObservedStore(IConnectionMultiplexer redis, string prefix, TimeProvider time)
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        Orphans = new MetricCollector<long>(factory, MailboxTelemetry.MeterName, "mailbox.orphans");
        Store = new RedisMailboxStore(redis, prefix, time, new MailboxMetrics(factory, time), Log);
    }

    public FakeLogger<RedisMailboxStore> Log { get; } = new();

    public MetricCollector<long> Orphans { get; }

    public RedisMailboxStore Store { get; }

    public void Dispose()
    {
        Orphans.Dispose();
        _services.Dispose();
    }
}
