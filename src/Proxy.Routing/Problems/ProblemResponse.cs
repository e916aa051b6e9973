using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Proxy.Routing.Problems;

/// <summary>Writes RFC 9457 problem+json answers: a stable <c>type</c>, a title, the status and a human detail.</summary>
public static class ProblemResponse
{
    public const string ContentType = "application/problem+json";

    public static async Task WriteAsync(HttpContext context, int status, string type, string title, string detail,
        IReadOnlyDictionary<string, string>? errors = null, TimeSpan? retryAfter = null, string? allow = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        // A webhook sender must not cache an error, and a broken body must not be sniffed as something else.
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        if (retryAfter is { } delay)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(delay.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (allow is not null)
        {
            context.Response.Headers.Allow = allow;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", type);
            json.WriteString("title", title);
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteString("instance", context.Request.Path.Value);
            if (errors is { Count: > 0 })
            {
                json.WriteStartObject("errors");
                foreach (var (key, value) in errors)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    /// <summary>
    /// Ends the connection with this answer (<c>Connection: close</c>, set as the headers go out, so it survives the
    /// clearing a problem answer does). For a request body that could not be read: Kestrel would otherwise try to drain
    /// the rest and log its failure as an error, once per broken body a sender chooses to send.
    /// </summary>
    public static void CloseConnectionAfter(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.OnStarting(static state =>
        {
            ((HttpResponse)state).Headers.Connection = "close";
            return Task.CompletedTask;
        }, response);
    }

    public static string TitleFor(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };

    /// <summary>The detail of an answer decided by status alone, for the status code pages.</summary>
    public static string DetailFor(HttpContext context, int status)
    {
        ArgumentNullException.ThrowIfNull(context);
        return status switch
        {
            404 => "no route serves this path",
            405 => $"{Printable(context.Request.Method)} is not accepted here",
            503 => "no destination is available for this route",
            _ => $"the request was answered {status}",
        };
    }

    /// <summary>A sender's token as it may appear in an answer: bounded, and only printable ASCII.</summary>
    public static string Printable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bounded = text.Length > 40 ? text[..40] + "..." : text;
        return bounded.All(c => c is > ' ' and < '\u007f') ? bounded : "this method";
    }
}
