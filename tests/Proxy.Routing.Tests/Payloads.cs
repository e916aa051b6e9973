using Microsoft.AspNetCore.Http;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Tests;

/// <summary>Real-shaped webhook payloads stored under Payloads/{provider}/ and requests built from them.</summary>
internal static class Payloads
{
    public static byte[] Bytes(string provider, string file)
        => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Payloads", provider, file));

    public static string Text(string provider, string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Payloads", provider, file));

    public static WebhookRequest Request(string path, byte[] body, string? contentType = null, IDictionary<string, string>? headers = null)
    {
        IHeaderDictionary headerDictionary = new HeaderDictionary();
        if (contentType is not null)
        {
            headerDictionary.ContentType = contentType;
        }

        foreach (var (key, value) in headers ?? new Dictionary<string, string>())
        {
            headerDictionary[key] = value;
        }

        var queryIndex = path.IndexOf('?', StringComparison.Ordinal);
        return queryIndex < 0
            ? new WebhookRequest("POST", new PathString(path), QueryString.Empty, headerDictionary, body)
            : new WebhookRequest("POST", new PathString(path[..queryIndex]), new QueryString(path[queryIndex..]), headerDictionary, body);
    }

    /// <summary>Content type by file extension: .json is JSON, .form is a urlencoded form.</summary>
    public static WebhookRequest FromFile(string provider, string file, string path)
        => Request(path, Bytes(provider, file), file.EndsWith(".form", StringComparison.Ordinal) ? "application/x-www-form-urlencoded" : "application/json");
}
