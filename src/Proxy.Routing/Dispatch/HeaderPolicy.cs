using Microsoft.AspNetCore.Http;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Headers a sender could use to lie to a region, removed by rule on the way in, before any route runs: every way a
/// request leaves (YARP's forwarder, fan-out and deferred legs, mailbox deliveries) starts from the stripped headers,
/// and the proxy sets the forwarding headers itself (YARP's X-Forwarded transforms).
/// </summary>
public static class HeaderPolicy
{
    /// <summary>Prefix of the proxy's own headers (answering region, delivery ids); never accepted from a sender.</summary>
    public const string InternalPrefix = "X-Proxy-";

    private static readonly string[] SpoofablePrefixes = ["X-Forwarded-", "X-Original-", InternalPrefix];

    /// <summary>Names of headers proxies and CDNs use to carry the client's address or the original URL.</summary>
    private static readonly HashSet<string> SpoofableNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "Forwarded", "X-Real-IP", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "X-Cluster-Client-IP", "X-Rewrite-URL",
        "Fastly-Client-IP", "X-ProxyUser-Ip", "Client-IP",
        // The proxy signs what it sends; a sender's copy would only confuse a silo that reads the first value.
        Proxy.Signing.EdgeSignature.HeaderName,
    };

    /// <summary>True when a sender's header must not reach a silo.</summary>
    /// <param name="extraPrefixes">The deployment's own internal prefixes (<c>Routing:StripHeaderPrefixes</c>).</param>
    public static bool IsSpoofable(string name, IReadOnlyList<string> extraPrefixes)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(extraPrefixes);
        // Underscores: nginx drops such names by default, because many servers read X_Forwarded_For as X-Forwarded-For.
        if (name.Contains('_', StringComparison.Ordinal) || SpoofableNames.Contains(name))
        {
            return true;
        }

        foreach (var prefix in SpoofablePrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        for (var i = 0; i < extraPrefixes.Count; i++)
        {
            if (name.StartsWith(extraPrefixes[i], StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public static void StripSpoofable(IHeaderDictionary headers, IReadOnlyList<string> extraPrefixes)
    {
        ArgumentNullException.ThrowIfNull(headers);
        List<string>? spoofed = null;
        foreach (var header in headers)
        {
            if (IsSpoofable(header.Key, extraPrefixes))
            {
                (spoofed ??= []).Add(header.Key);
            }
        }

        if (spoofed is null)
        {
            return;
        }

        foreach (var name in spoofed)
        {
            headers.Remove(name);
        }
    }
}
