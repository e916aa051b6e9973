using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Admin;

/// <summary>
/// The body of <c>POST /admin/explain</c>: a pasted webhook, <c>{"method","path","query","headers","body"}</c> with
/// <c>bodyBase64</c> instead of <c>body</c> for binary content. Read by hand so that every mistake is named.
/// </summary>
internal static class ExplainRequest
{
    /// <summary>The webhook, or null and what is wrong with the body.</summary>
    public static (WebhookRequest? Webhook, string? Error) Read(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException)
        {
            return (null, "the body is not JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "the body must be a JSON object");
            }

            string method = "POST", path = "", query = "";
            string? body = null, bodyBase64 = null;
            IHeaderDictionary headers = new HeaderDictionary();
            foreach (var property in root.EnumerateObject())
            {
                var name = property.Name.ToLowerInvariant();
                var value = property.Value;
                if (name is "method" or "path" or "query" or "body" or "bodybase64")
                {
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }

                    if (value.ValueKind != JsonValueKind.String)
                    {
                        return (null, $"'{property.Name}' must be a string");
                    }

                    var text = value.GetString()!;
                    _ = name switch
                    {
                        "method" => method = text,
                        "path" => path = text,
                        "query" => query = text,
                        "body" => body = text,
                        _ => bodyBase64 = text,
                    };
                }
                else if (name == "headers")
                {
                    if (ReadHeaders(value, headers) is { } error)
                    {
                        return (null, error);
                    }
                }
                else
                {
                    return (null, $"unknown field '{property.Name}' (expected method, path, query, headers, body or bodyBase64)");
                }
            }

            if (!path.StartsWith('/'))
            {
                return (null, "'path' is required and must start with /");
            }

            if (body is not null && bodyBase64 is not null)
            {
                return (null, "send 'body' or 'bodyBase64', not both");
            }

            byte[] bytes;
            try
            {
                bytes = bodyBase64 is not null ? Convert.FromBase64String(bodyBase64) : System.Text.Encoding.UTF8.GetBytes(body ?? "");
            }
            catch (FormatException)
            {
                return (null, "'bodyBase64' is not base64");
            }

            var queryString = query.Length == 0 ? QueryString.Empty : new QueryString(query.StartsWith('?') ? query : "?" + query);
            return (new WebhookRequest(method.ToUpperInvariant(), new PathString(path), queryString, headers, bytes), null);
        }
    }

    private static string? ReadHeaders(JsonElement value, IHeaderDictionary headers)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return "'headers' must be an object of header names to values";
        }

        foreach (var header in value.EnumerateObject())
        {
            switch (header.Value.ValueKind)
            {
                case JsonValueKind.String:
                    headers.Append(header.Name, header.Value.GetString());
                    break;
                case JsonValueKind.Array when header.Value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String):
                    foreach (var item in header.Value.EnumerateArray())
                    {
                        headers.Append(header.Name, item.GetString());
                    }

                    break;
                default:
                    return $"header '{header.Name}' must be a string or an array of strings";
            }
        }

        return null;
    }
}
