using System.Globalization;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Webhook paths that name their organization: <c>organizations/{organization id}/webhook/...</c>. Bitbucket and the
/// legacy plugins put it there because their payloads carry nothing that points back to one organization.
/// </summary>
internal static class OrganizationWebhookPath
{
    /// <summary>
    /// True when <paramref name="segments"/> are <c>organizations/{id}/webhook</c> followed by exactly
    /// <paramref name="trailing"/> more segments; <paramref name="organization"/> is the id segment as sent.
    /// </summary>
    public static bool Matches(ReadOnlySpan<string> segments, int trailing, out string organization)
    {
        organization = string.Empty;
        if (segments.Length != 3 + trailing
            || !string.Equals(segments[0], "organizations", StringComparison.OrdinalIgnoreCase)
            || !string.Equals(segments[2], "webhook", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        organization = segments[1];
        return true;
    }

    /// <summary>A positive decimal id, or null: organization ids are numbers, anything else names no organization.</summary>
    public static long? ParseId(string segment)
        => long.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;
}
