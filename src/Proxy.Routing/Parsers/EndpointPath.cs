namespace Proxy.Routing.Parsers;

/// <summary>Matches the segments after the provider against one endpoint's exact path; URLs are case-insensitive here.</summary>
internal static class EndpointPath
{
    public static bool Is(ReadOnlySpan<string> segments, params ReadOnlySpan<string> endpoint)
    {
        if (segments.Length != endpoint.Length)
        {
            return false;
        }

        for (var i = 0; i < endpoint.Length; i++)
        {
            if (!string.Equals(segments[i], endpoint[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }
}
