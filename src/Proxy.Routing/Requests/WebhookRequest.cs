using Microsoft.AspNetCore.Http;

namespace Proxy.Routing.Requests;

/// <summary>
/// One incoming webhook, read once: what parsers see and what dispatch sends on. The body is the exact bytes the
/// sender wrote; nothing in the proxy re-encodes it.
/// </summary>
public sealed class WebhookRequest
{
    public WebhookRequest(string method, PathString path, QueryString query, IHeaderDictionary headers, ReadOnlyMemory<byte> body)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(headers);
        Method = method;
        Path = path;
        Query = query;
        Headers = headers;
        Body = body;
    }

    public string Method { get; }

    public PathString Path { get; }

    public QueryString Query { get; }

    public IHeaderDictionary Headers { get; }

    public ReadOnlyMemory<byte> Body { get; }

    public string? ContentType => Headers.ContentType.Count > 0 ? Headers.ContentType[0] : null;

    /// <summary>True when Content-Type names JSON (application/json or a +json type).</summary>
    public bool IsJson => MediaTypeIs("application/json") || (ContentType?.Contains("+json", StringComparison.OrdinalIgnoreCase) ?? false);

    public bool IsForm => MediaTypeIs("application/x-www-form-urlencoded");

    public bool IsMultipartForm => MediaTypeIs("multipart/form-data");

    public string? Header(string name) => Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    private bool MediaTypeIs(string mediaType)
    {
        var contentType = ContentType;
        if (contentType is null)
        {
            return false;
        }

        var end = contentType.IndexOf(';', StringComparison.Ordinal);
        var span = (end < 0 ? contentType : contentType[..end]).AsSpan().Trim();
        return span.Equals(mediaType, StringComparison.OrdinalIgnoreCase);
    }
}
