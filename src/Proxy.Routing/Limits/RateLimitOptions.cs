using System.Net;
using Microsoft.Extensions.Options;

namespace Proxy.Routing.Limits;

/// <summary>Request rate limits at the edge, section <c>RateLimits</c>; reloaded live.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Off turns both limits off (a benchmark's single load generator, a test driving load from one address).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Per client address, before anything is read: bounds what one source can make the proxy parse.</summary>
    public TokenBucketSettings ClientIp { get; set; } = new() { TokensPerSecond = 500, Burst = 1000 };

    /// <summary>Per integration (provider and its id for the installation), after parsing, before the directory is asked.</summary>
    public TokenBucketSettings Integration { get; set; } = new() { TokensPerSecond = 100, Burst = 500 };

    /// <summary>
    /// Load balancers in front of the proxy (addresses or CIDR ranges). A request from one of them is counted against
    /// the right-most <c>X-Forwarded-For</c> address that is not itself a trusted proxy; anyone else's
    /// <c>X-Forwarded-For</c> is ignored (and stripped before forwarding).
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    internal IReadOnlyList<IPNetwork> TrustedNetworks() => [.. TrustedProxies.Select(ParseNetwork)];

    internal static IPNetwork ParseNetwork(string value)
    {
        var text = value.Trim();
        if (!text.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(text, out var address))
        {
            address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            return new IPNetwork(address, address.GetAddressBytes().Length * 8);
        }

        return IPNetwork.Parse(text);
    }
}

/// <summary>A token bucket: <see cref="TokensPerSecond"/> sustained, <see cref="Burst"/> at once; 0 tokens per second is no limit.</summary>
public sealed class TokenBucketSettings
{
    public int TokensPerSecond { get; set; }

    public int Burst { get; set; }

    internal bool Limits => TokensPerSecond > 0;
}

internal sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var errors = new List<string>();
        Bucket(errors, nameof(options.ClientIp), options.ClientIp);
        Bucket(errors, nameof(options.Integration), options.Integration);
        for (var i = 0; i < options.TrustedProxies.Count; i++)
        {
            try
            {
                RateLimitOptions.ParseNetwork(options.TrustedProxies[i]);
            }
            catch (FormatException)
            {
                errors.Add($"{RateLimitOptions.Section}:TrustedProxies:{i} must be an address or a CIDR range such as 10.0.0.0/8 (was '{options.TrustedProxies[i]}').");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Bucket(List<string> errors, string key, TokenBucketSettings bucket)
    {
        if (bucket.TokensPerSecond < 0)
        {
            errors.Add($"{RateLimitOptions.Section}:{key}:TokensPerSecond must be 0 (no limit) or more (was {bucket.TokensPerSecond}).");
        }

        if (bucket.Limits && bucket.Burst < 1)
        {
            errors.Add($"{RateLimitOptions.Section}:{key}:Burst must be at least 1 when {key}:TokensPerSecond is set (was {bucket.Burst}).");
        }
    }
}
