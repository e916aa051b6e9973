using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Admin;

/// <summary>
/// <c>Admin:Urls</c>: the admin endpoints on a listener of their own. The public listener then answers <c>/admin/…</c>
/// with 404 (unless <c>Admin:AllowOnPublicListener</c> is true), and the admin listener serves only <c>/admin/…</c> and
/// the health endpoints. The listener is told by the connection's local port, never by the Host header a client sends.
/// </summary>
public static class AdminListener
{
    public const string UrlsKey = "Admin:Urls";
    public const string AllowOnPublicKey = "Admin:AllowOnPublicListener";

    private static readonly PathString s_admin = new("/admin");
    private static readonly PathString[] s_health = [new("/healthz"), new("/readyz")];

    /// <summary>The admin URLs (separated by <c>;</c>), each absolute http with a fixed port; throws naming the setting.</summary>
    public static IReadOnlyList<string> Urls(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var urls = (configuration[UrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var url in urls)
        {
            if (Parse(url) is null)
            {
                throw new Microsoft.Extensions.Options.OptionsValidationException(UrlsKey, typeof(AdminListener),
                    [$"{UrlsKey} must list http URLs with an explicit, non-zero port, e.g. http://127.0.0.1:9091 (was '{url}')."]);
            }
        }

        return urls;
    }

    /// <summary>An admin URL as a URI when it is absolute http with an explicit, non-zero port and no path; else null.</summary>
    private static Uri? Parse(string url)
    {
        // Kestrel's own wildcards ("*" and "+") are not URI hosts; check the rest as a URL.
        var checkable = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (!Uri.TryCreate(checkable, UriKind.Absolute, out var uri) || uri.Scheme != "http" || uri.Port == 0 || uri.AbsolutePath != "/")
        {
            return null;
        }

        // The port must be written out (":80" included): the authority as written, past any IPv6 brackets.
        var authority = checkable[(checkable.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0];
        return authority.LastIndexOf(':') > authority.LastIndexOf(']') ? uri : null;
    }

    /// <summary>Separates the admin listener from the public one when <c>Admin:Urls</c> is set; does nothing otherwise.</summary>
    public static IApplicationBuilder UseAdminListener(this IApplicationBuilder app, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(app);
        var ports = Urls(configuration).Select(url => Parse(url)!.Port).ToHashSet();
        if (ports.Count == 0)
        {
            return app;
        }

        var allowPublic = bool.TryParse(configuration[AllowOnPublicKey], out var allow) && allow;
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            var isAdmin = path.StartsWithSegments(s_admin, StringComparison.OrdinalIgnoreCase);
            var onAdminListener = ports.Contains(context.Connection.LocalPort);
            var served = onAdminListener
                ? isAdmin || s_health.Any(h => path.StartsWithSegments(h, StringComparison.OrdinalIgnoreCase))
                : !isAdmin || allowPublic;
            if (served)
            {
                await next(context);
                return;
            }

            await ProblemResponse.WriteAsync(context, 404, ProblemTypes.NotFound, ProblemResponse.TitleFor(404),
                onAdminListener ? "the admin listener serves /admin/ and the health endpoints only"
                    : string.Create(CultureInfo.InvariantCulture, $"the admin endpoints are on their own listener ({UrlsKey})"));
        });
    }
}
