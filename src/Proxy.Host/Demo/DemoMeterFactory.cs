using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Proxy.Host.Demo;

/// <summary>
/// The demo silos' meter factory: every meter's name gets the <c>EdgeProxy.Demo.</c> prefix, so the proxy's
/// subscriptions (<c>Microsoft.AspNetCore.Hosting</c>, <c>Microsoft.AspNetCore.Server.Kestrel</c>...) do not count the
/// silos' requests as the proxy's.
/// </summary>
internal sealed class DemoMeterFactory : IMeterFactory
{
    public const string Prefix = "EdgeProxy.Demo.";

    /// <summary>The silos' activity source and diagnostic listener (in place of <c>Microsoft.AspNetCore</c>).</summary>
    public const string SourceName = "EdgeProxy.Demo.Silo";

    private readonly ConcurrentDictionary<(string Name, string? Version), Meter> _meters = new();

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _meters.GetOrAdd((options.Name, options.Version), _ => new Meter(new MeterOptions(Prefix + options.Name)
        {
            Version = options.Version,
            Tags = options.Tags,
            Scope = this,
        }));
    }

    public void Dispose()
    {
        foreach (var meter in _meters.Values)
        {
            meter.Dispose();
        }

        _meters.Clear();
    }
}
