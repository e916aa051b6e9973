using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Requests;

/// <summary>Reads a webhook body once, with a size cap and a deadline; never trusts Content-Length alone.</summary>
internal static class WebhookRequestReader
{
    public readonly record struct Outcome(WebhookRequest? Request, int Status, string? ProblemType, string? Detail);

    /// <param name="timeout">How long the sender may take to send the body; this read's own timer.</param>
    public static async Task<Outcome> ReadAsync(HttpContext context, long maxBytes, TimeSpan timeout)
    {
        var request = context.Request;
        if (request.ContentLength is { } declared && declared > maxBytes)
        {
            return TooLarge(maxBytes);
        }

        byte[] body;
        try
        {
            // Most webhooks arrive whole with their headers: then no timer is needed.
            body = TryReadBuffered(request.BodyReader, request.ContentLength) ?? await ReadWithTimerAsync(request, maxBytes, timeout);
        }
        catch (BodyTooLargeException)
        {
            return TooLarge(maxBytes);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return new Outcome(null, 408, ProblemTypes.BodyReadTimeout,
                $"the body was not received within {timeout.TotalSeconds:0.#} s");
        }
        catch (BadHttpRequestException ex)
        {
            var type = ex.StatusCode switch
            {
                413 => ProblemTypes.PayloadTooLarge,
                408 => ProblemTypes.BodyReadTimeout,
                _ => ProblemTypes.MalformedBody,
            };
            return new Outcome(null, ex.StatusCode, type, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OverflowException)
        {
            // Kestrel reports some broken framing this way (a chunk size that overflows, NUL in a trailer).
            return new Outcome(null, 400, ProblemTypes.MalformedBody, "the body's framing could not be read");
        }

        var webhook = new WebhookRequest(request.Method, request.Path, request.QueryString, request.Headers, body);
        return new Outcome(webhook, 200, null, null);
    }

    private static async Task<byte[]> ReadWithTimerAsync(HttpRequest request, long maxBytes, TimeSpan timeout)
    {
        // Not linked to RequestAborted: a read of an aborted request fails on its own.
        using var timer = new CancellationTokenSource(timeout);
        return await ReadBodyAsync(request.Body, request.ContentLength, maxBytes, timer.Token);
    }

    /// <summary>The whole body when Content-Length bytes are already buffered; otherwise null and nothing consumed.</summary>
    private static byte[]? TryReadBuffered(PipeReader reader, long? declared)
    {
        if (declared is not { } length)
        {
            return null;
        }

        if (length == 0)
        {
            return [];
        }

        if (!reader.TryRead(out var result))
        {
            return null;
        }

        var buffer = result.Buffer;
        if (buffer.Length < length)
        {
            reader.AdvanceTo(buffer.Start);
            return null;
        }

        var body = new byte[length];
        buffer.Slice(0, length).CopyTo(body);
        reader.AdvanceTo(buffer.GetPosition(length));
        return body;
    }

    private static async Task<byte[]> ReadBodyAsync(Stream body, long? declared, long maxBytes, CancellationToken cancellationToken)
    {
        if (declared is { } length)
        {
            // The common case: one exact allocation, kept for as long as fan-out legs and the mailbox need it.
            var exact = new byte[length];
            var read = 0;
            while (read < exact.Length)
            {
                var n = await body.ReadAsync(exact.AsMemory(read), cancellationToken);
                if (n == 0)
                {
                    throw new BadHttpRequestException("the body ended before Content-Length bytes arrived", 400);
                }

                read += n;
            }

            return exact;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int count;
        while ((count = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + count > maxBytes)
            {
                throw new BodyTooLargeException();
            }

            buffer.Write(chunk, 0, count);
        }

        return buffer.ToArray();
    }

    private static Outcome TooLarge(long maxBytes)
        => new(null, 413, ProblemTypes.PayloadTooLarge, $"the body is larger than the {maxBytes}-byte limit");

    private sealed class BodyTooLargeException : Exception;
}
