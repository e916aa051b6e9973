namespace Proxy.Routing.Signatures;

/// <summary>
/// Whether a sender-supplied <c>response_url</c> may be posted to: it is parsed as a URL and compared with each allowed
/// prefix as a URL, never as a string. Absolute https (http only where the prefix itself is http), no user info, no
/// fragment, no dot segment raw or percent-encoded, no backslash or encoded slash; scheme and host compare
/// case-insensitively, the port exactly, the path case-sensitively and only at segment boundaries.
/// </summary>
public static class ResponseUrlPolicy
{
    public static bool Allows(string url, IReadOnlyList<string> prefixes)
    {
        ArgumentNullException.ThrowIfNull(prefixes);
        if (string.IsNullOrEmpty(url) || url.Length > 2048 || !IsPlainUrl(url)
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("https" or "http") || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return false;
        }

        foreach (var prefix in prefixes)
        {
            if (Uri.TryCreate(prefix, UriKind.Absolute, out var allowed) && Matches(uri, allowed))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Matches(Uri uri, Uri allowed)
        => string.Equals(uri.Scheme, allowed.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.IdnHost, allowed.IdnHost, StringComparison.OrdinalIgnoreCase)
            && uri.Port == allowed.Port
            && PathWithin(uri.AbsolutePath, allowed.AbsolutePath);

    private static bool PathWithin(string path, string prefix)
    {
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        // "/allowed" covers "/allowed" and "/allowed/..." but not "/allowed-else".
        return prefix.EndsWith('/') || path.Length == prefix.Length || path[prefix.Length] == '/';
    }

    /// <summary>
    /// Refuses what a URL parser would silently rewrite: backslashes, whitespace and control characters, encoded
    /// slashes and backslashes, and "." or ".." path segments whether written raw or percent-encoded.
    /// </summary>
    private static bool IsPlainUrl(string url)
    {
        foreach (var c in url)
        {
            if (c is '\\' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
        }

        if (url.Contains("%2f", StringComparison.OrdinalIgnoreCase) || url.Contains("%5c", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var pathStart = schemeEnd < 0 ? -1 : url.IndexOf('/', schemeEnd + 3);
        if (pathStart < 0)
        {
            return true;
        }

        var pathEnd = url.IndexOfAny(['?', '#'], pathStart);
        var path = url.AsSpan(pathStart, (pathEnd < 0 ? url.Length : pathEnd) - pathStart);
        foreach (var range in path.Split('/'))
        {
            var segment = path[range];
            if (segment.Length is > 0 and <= 6 && IsDots(segment))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>"." or "..", each dot written as "." or "%2e" in any case.</summary>
    private static bool IsDots(ReadOnlySpan<char> segment)
    {
        var dots = 0;
        while (!segment.IsEmpty)
        {
            if (segment[0] == '.')
            {
                segment = segment[1..];
            }
            else if (segment.Length >= 3 && segment.StartsWith("%2e", StringComparison.OrdinalIgnoreCase))
            {
                segment = segment[3..];
            }
            else
            {
                return false;
            }

            dots++;
        }

        return dots is 1 or 2;
    }
}
