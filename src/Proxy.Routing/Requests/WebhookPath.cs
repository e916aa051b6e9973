using Microsoft.AspNetCore.Http;

namespace Proxy.Routing.Requests;

/// <summary>Reads the provider out of <c>/extensions/{provider}/...</c> and spots the install flows owned by control.</summary>
public static class WebhookPath
{
    private const string ExtensionsPrefix = "/extensions/";
    private const string PluginsPrefix = "/plugins/";

    /// <summary>The provider key of a webhook path (dash becomes underscore), "plugins" for /plugins/..., else null.</summary>
    public static string? ProviderOf(PathString path)
    {
        var value = path.Value;
        if (value is null)
        {
            return null;
        }

        if (value.StartsWith(PluginsPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return "plugins";
        }

        if (!value.StartsWith(ExtensionsPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rest = value.AsSpan(ExtensionsPrefix.Length);
        var slash = rest.IndexOf('/');
        var segment = slash < 0 ? rest : rest[..slash];
        if (segment.IsEmpty)
        {
            return null;
        }

        // The known providers without allocating on every request; any other name is built once per request.
        foreach (var known in s_knownProviders)
        {
            if (SameProvider(segment, known))
            {
                return known;
            }
        }

        return segment.ToString().Replace('-', '_').ToLowerInvariant();
    }

    private static readonly string[] s_knownProviders =
    [
        "slack", "github", "github_enterprise", "discord", "jira", "jira_server", "gitlab", "bitbucket", "bitbucket_server",
        "vsts", "msteams", "vercel", "google", "slack_staging", "gitea",
    ];

    private static bool SameProvider(ReadOnlySpan<char> segment, string key)
    {
        if (segment.Length != key.Length)
        {
            return false;
        }

        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i] == '-' ? '_' : char.ToLowerInvariant(segment[i]);
            if (c != key[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Install (<c>/setup/</c>) and organization-link (<c>/link/</c>) pages are served by control whatever the provider.
    /// </summary>
    public static bool IsControlFlow(PathString path)
    {
        var value = path.Value ?? string.Empty;
        return value.EndsWith("/setup/", StringComparison.OrdinalIgnoreCase)
            || value.EndsWith("/link/", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The first path segment after <c>/extensions/{provider}/</c> (empty when there is none), as a slice of the path:
    /// what a parser switches on, read without splitting the path.
    /// </summary>
    public static ReadOnlySpan<char> EndpointAfterProvider(PathString path)
    {
        var rest = (path.Value ?? string.Empty).AsSpan();
        for (var skipped = 0; skipped < 2; skipped++)
        {
            rest = rest.TrimStart('/');
            var slash = rest.IndexOf('/');
            rest = slash < 0 ? [] : rest[slash..];
        }

        rest = rest.TrimStart('/');
        var end = rest.IndexOf('/');
        return end < 0 ? rest : rest[..end];
    }

    /// <summary>The path segments after <c>/extensions/{provider}/</c>, without empty entries.</summary>
    public static string[] SegmentsAfterProvider(PathString path)
    {
        var parts = (path.Value ?? string.Empty).Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length <= 2 ? [] : parts[2..];
    }
}
