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

    /// <summary>The boundary of every <c>.multipart</c> payload file.</summary>
    public const string MultipartBoundary = "XyZslackBoundary7MA4YWxkTrZu0gW";

    /// <summary>Content type by file extension: .json is JSON, .form a urlencoded form, .multipart a multipart/form-data form.</summary>
    public static WebhookRequest FromFile(string provider, string file, string path)
        => Request(path, Bytes(provider, file), ContentTypeOf(file));

    public static string ContentTypeOf(string file)
        => file.EndsWith(".form", StringComparison.Ordinal) ? "application/x-www-form-urlencoded"
            : file.EndsWith(".multipart", StringComparison.Ordinal) ? $"multipart/form-data; boundary={MultipartBoundary}"
            : "application/json";
}
