using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Proxy.Routing.Limits;

/// <summary>
/// The two request limits: one token bucket per client address (ASP.NET Core's rate limiting middleware runs it before
/// anything is read) and one per integration (asked by the dispatcher once the parser named the target). A settings
/// change starts fresh buckets: the generation is part of every partition key, and idle old buckets are dropped.
/// </summary>
public sealed class EdgeRateLimits : IDisposable
{
    private static readonly PathString[] s_unlimited = ["/healthz", "/readyz"];
    private readonly IDisposable? _subscription;
    private readonly PartitionedRateLimiter<string> _integrations;
    private volatile Snapshot _current;

    public EdgeRateLimits(IOptionsMonitor<RateLimitOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _current = new Snapshot(options.CurrentValue, 0);
        _subscription = options.OnChange(changed => _current = new Snapshot(changed, _current.Generation + 1));
        ClientIp = PartitionedRateLimiter.Create<HttpContext, string>(PartitionClient);
        _integrations = PartitionedRateLimiter.Create<string, string>(key => Bucket(key, _current.Settings.Integration));
    }

    /// <summary>The global limiter of the rate limiting middleware: per client address, health endpoints exempt.</summary>
    public PartitionedRateLimiter<HttpContext> ClientIp { get; }

    /// <summary>Takes one token from the integration's bucket; a refused lease carries the time to wait.</summary>
    public RateLimitLease AcquireForIntegration(string provider, string target)
    {
        var snapshot = _current;
        if (!snapshot.Settings.Enabled || !snapshot.Settings.Integration.Limits)
        {
            return s_granted.AttemptAcquire();
        }

        return _integrations.AttemptAcquire(string.Create(CultureInfo.InvariantCulture, $"{snapshot.Generation}|{provider}|{target}"));
    }

    /// <summary>How long a refused sender should wait, from the lease or else one second.</summary>
    public static TimeSpan RetryAfter(RateLimitLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1);
    }

    /// <summary>
    /// The address a request is counted against: the connection's peer, or behind a trusted load balancer the
    /// right-most forwarded address that is not another trusted proxy.
    /// </summary>
    public string ClientAddressOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ClientAddress(context, _current.Trusted);
    }

    private RateLimitPartition<string> PartitionClient(HttpContext context)
    {
        var snapshot = _current;
        var path = context.Request.Path;
        if (!snapshot.Settings.Enabled || !snapshot.Settings.ClientIp.Limits
            || s_unlimited.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)))
        {
            return RateLimitPartition.GetNoLimiter(string.Empty);
        }

        var key = string.Create(CultureInfo.InvariantCulture, $"{snapshot.Generation}|{ClientAddress(context, snapshot.Trusted)}");
        return Bucket(key, snapshot.Settings.ClientIp);
    }

    private static RateLimitPartition<string> Bucket(string key, TokenBucketSettings settings)
        => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, settings.Burst),
            TokensPerPeriod = Math.Max(1, settings.TokensPerSecond),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });

    private static string ClientAddress(HttpContext context, IReadOnlyList<IPNetwork> trusted)
    {
        var peer = Normalize(context.Connection.RemoteIpAddress);
        if (peer is null)
        {
            return "unknown";
        }

        if (trusted.Count == 0 || !IsTrusted(peer, trusted))
        {
            return peer.ToString();
        }

        // Each proxy appends the address it saw: read from the right, past our own balancers.
        var client = peer;
        StringValues forwarded = context.Request.Headers["X-Forwarded-For"];
        for (var i = forwarded.Count - 1; i >= 0; i--)
        {
            var hops = (forwarded[i] ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (var j = hops.Length - 1; j >= 0; j--)
            {
                if (!IPAddress.TryParse(hops[j], out var hop))
                {
                    return client.ToString();
                }

                client = Normalize(hop)!;
                if (!IsTrusted(client, trusted))
                {
                    return client.ToString();
                }
            }
        }

        return client.ToString();
    }

    private static bool IsTrusted(IPAddress address, IReadOnlyList<IPNetwork> trusted) => trusted.Any(n => n.Contains(address));

    private static IPAddress? Normalize(IPAddress? address) => address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;

    public void Dispose()
    {
        _subscription?.Dispose();
        ClientIp.Dispose();
        _integrations.Dispose();
    }

    private static readonly RateLimiter s_granted = RateLimitPartition.GetNoLimiter(0).Factory(0);

    private sealed class Snapshot(RateLimitOptions settings, int generation)
    {
        public RateLimitOptions Settings { get; } = settings;

        public int Generation { get; } = generation;

        public IReadOnlyList<IPNetwork> Trusted { get; } = settings.TrustedNetworks();
    }
}
