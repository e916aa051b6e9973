namespace Proxy.Host;

/// <summary>
/// <c>dotnet Proxy.Host.dll healthcheck [url]</c>: GET <c>/readyz</c> of the proxy on this machine, exit 0 when it
/// answers 200 and 1 otherwise, with one line saying what it asked and what came back. The ASP.NET Core image has no
/// curl or wget; this is the image's <c>HEALTHCHECK</c>. Without a URL it asks the port the proxy listens on, read from
/// the same settings the proxy reads (<c>--urls</c>, <c>ASPNETCORE_URLS</c> / <c>URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>
/// / <c>HTTP_PORTS</c>, else 8080).
/// </summary>
internal static class HealthProbe
{
    public const string Verb = "healthcheck";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(string[] args)
    {
        var url = args.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || a.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
        Uri target;
        try
        {
            target = url is null ? ReadyzOf(Settings(args)) : new Uri(url);
        }
        catch (UriFormatException ex)
        {
            await Console.Error.WriteLineAsync($"edge-proxy {Verb}: {ex.Message}");
            return 1;
        }

        using var client = new HttpClient { Timeout = s_timeout };
        try
        {
            using var response = await client.GetAsync(target);
            var ok = (int)response.StatusCode == StatusCodes.Status200OK;
            await (ok ? Console.Out : Console.Error).WriteLineAsync($"edge-proxy {Verb}: {target} answered {(int)response.StatusCode}");
            return ok ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"edge-proxy {Verb}: {target} did not answer: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The settings ASP.NET Core reads its listen addresses from, in its order (command line last wins).</summary>
    private static IConfiguration Settings(string[] args) => new ConfigurationBuilder()
        .AddEnvironmentVariables("ASPNETCORE_")
        .AddEnvironmentVariables()
        .AddCommandLine(args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).ToArray())
        .Build();

    /// <summary>The first listen address made local: <c>+</c>, <c>*</c>, <c>0.0.0.0</c> and <c>[::]</c> become 127.0.0.1.</summary>
    internal static Uri ReadyzOf(IConfiguration settings)
    {
        var urls = settings["urls"];
        string first;
        if (!string.IsNullOrWhiteSpace(urls))
        {
            first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        }
        else if (settings["http_ports"] is { Length: > 0 } ports)
        {
            first = "http://127.0.0.1:" + ports.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        }
        else
        {
            first = HostingExtensions.DefaultUrls;
        }

        var local = first.Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal);
        return new Uri(new Uri(local.TrimEnd('/') + "/"), "readyz");
    }
}
