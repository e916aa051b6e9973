using Microsoft.AspNetCore.Http;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Headers a sender could use to lie to a region. They are removed on the way in; the proxy sets the forwarding
/// headers itself (YARP's X-Forwarded transforms), so a region only ever sees values the proxy vouches for.
/// </summary>
public static class HeaderPolicy
{
    private static readonly string[] Spoofable =
    [
        "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Forwarded-Port",
        "X-Forwarded-Server", "Forwarded", "X-Real-IP", "X-Client-IP", "X-Original-URL", "X-Original-Host",
    ];

    /// <summary>Prefix of the proxy's own headers (answering region, delivery ids); never accepted from a sender.</summary>
    public const string InternalPrefix = "X-Proxy-";

    public static void StripSpoofable(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        foreach (var name in Spoofable)
        {
            headers.Remove(name);
        }

        List<string>? internalHeaders = null;
        foreach (var header in headers)
        {
            if (header.Key.StartsWith(InternalPrefix, StringComparison.OrdinalIgnoreCase))
            {
                (internalHeaders ??= []).Add(header.Key);
            }
        }

        foreach (var name in internalHeaders ?? [])
        {
            headers.Remove(name);
        }
    }
}
