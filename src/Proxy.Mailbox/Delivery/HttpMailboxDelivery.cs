using System.Globalization;
using Proxy.Routing.Dispatch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Proxy.Mailbox;

/// <summary>
/// Replays the stored request (method, transformed path and headers, body byte for byte) through the region's YARP
/// cluster, built by <see cref="RegionRequestBuilder"/> as every region send is, with the delivery id and attempt as
/// headers and a per-delivery timeout.
/// </summary>
internal sealed partial class HttpMailboxDelivery(
    RegionRequestBuilder builder,
    IOptionsMonitor<MailboxOptions> options,
    TimeProvider time,
    ILogger<HttpMailboxDelivery> logger) : IMailboxDelivery
{
    public async Task<DeliveryResult> DeliverAsync(MailboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!builder.TryPickRegion(entry.Region, null, out var target, out _))
        {
            return DeliveryResult.Failed(DeliveryError.UnknownRegion);
        }

        using var request = BuildRequest(entry, target);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.CurrentValue.DeliveryTimeoutSeconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await builder.SendAsync(target, request, linked.Token).ConfigureAwait(false);
            return DeliveryResult.Answered((int)response.StatusCode, ReadRetryAfter(response));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The delivery timeout, or the cluster's activity timeout.
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

    internal static HttpRequestMessage BuildRequest(MailboxEntry entry, RegionTarget target)
    {
        var request = RegionRequestBuilder.Build(new StoredRequest(entry.Method, entry.PathAndQuery, entry.Headers), entry.Body, target);
        request.Headers.TryAddWithoutValidation(MailboxHeaders.DeliveryId, entry.DeliveryId);
        request.Headers.TryAddWithoutValidation(MailboxHeaders.DeliveryAttempt, entry.Attempts.ToString(CultureInfo.InvariantCulture));
        return request;
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
