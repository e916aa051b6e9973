using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Proxy.Mailbox;

/// <summary>
/// Rebuilds the stored request (method, path and query, headers, body byte for byte) and sends it through the
/// region's invoker, with the delivery id and attempt as headers and a per-delivery timeout.
/// </summary>
internal sealed partial class HttpMailboxDelivery(
    IRegionEndpoints regions,
    IOptionsMonitor<MailboxOptions> options,
    TimeProvider time,
    ILogger<HttpMailboxDelivery> logger) : IMailboxDelivery
{
    /// <summary>Hop-by-hop headers, and headers the transport re-creates.</summary>
    private static readonly HashSet<string> s_skippedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "X-Forwarded-Proto",
    };

    public async Task<DeliveryResult> DeliverAsync(MailboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!regions.TryGet(entry.Region, out var invoker, out var baseAddress))
        {
            return DeliveryResult.Failed(DeliveryError.UnknownRegion);
        }

        using var request = BuildRequest(entry, baseAddress);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.CurrentValue.DeliveryTimeoutSeconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await invoker.SendAsync(request, linked.Token).ConfigureAwait(false);
            return DeliveryResult.Answered((int)response.StatusCode, ReadRetryAfter(response));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return DeliveryResult.Failed(DeliveryError.Timeout);
        }
        catch (HttpRequestException ex)
        {
            Log.SendFailed(logger, entry.DeliveryId, entry.Region, ex.HttpRequestError, ex.Message);
            return DeliveryResult.Failed(ex.HttpRequestError is HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded
                ? DeliveryError.Other
                : DeliveryError.Connection);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.SendCrashed(logger, entry.DeliveryId, entry.Region, ex);
            return DeliveryResult.Failed(DeliveryError.Other);
        }
    }

    internal static HttpRequestMessage BuildRequest(MailboxEntry entry, Uri baseAddress)
    {
        var path = entry.PathAndQuery.StartsWith('/') ? entry.PathAndQuery : "/" + entry.PathAndQuery;
        var target = new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + baseAddress.AbsolutePath.TrimEnd('/') + path, UriKind.Absolute);
        var request = new HttpRequestMessage(new HttpMethod(entry.Method), target)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        var hasContentHeader = false;
        ByteArrayContent? content = null;
        foreach (var (name, value) in entry.Headers)
        {
            if (s_skippedHeaders.Contains(name) || name.StartsWith("X-Proxy-", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                content ??= NewContent(entry.Body);
                hasContentHeader |= content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (content is null && (!entry.Body.IsEmpty || hasContentHeader))
        {
            content = NewContent(entry.Body);
        }

        request.Content = content;
        request.Headers.TryAddWithoutValidation(MailboxHeaders.DeliveryId, entry.DeliveryId);
        request.Headers.TryAddWithoutValidation(MailboxHeaders.DeliveryAttempt, entry.Attempts.ToString(CultureInfo.InvariantCulture));
        return request;
    }

    private static ByteArrayContent NewContent(ReadOnlyMemory<byte> body)
    {
        var content = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment)
            ? new ByteArrayContent(segment.Array!, segment.Offset, segment.Count)
            : new ByteArrayContent(body.ToArray());
        // ByteArrayContent adds no Content-Type of its own; only the stored one is sent.
        content.Headers.ContentType = null;
        return content;
    }

    private TimeSpan? ReadRetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Delivery {DeliveryId} to region {Region} failed to send ({Error}): {Message}")]
        public static partial void SendFailed(ILogger logger, string deliveryId, string region, HttpRequestError error, string message);

        [LoggerMessage(2, LogLevel.Warning, "Delivery {DeliveryId} to region {Region} failed unexpectedly")]
        public static partial void SendCrashed(ILogger logger, string deliveryId, string region, Exception exception);
    }
}
