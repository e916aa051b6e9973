using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Telemetry;
using Yarp.ReverseProxy.Forwarder;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Sends one buffered webhook to every region in parallel and answers with the first region answer to complete
/// (a 4xx/5xx is an answer). YARP's forwarder can send a request only once, so each region gets its own
/// HttpRequestMessage over the same body bytes, built with the route's transforms and sent through the region
/// cluster's own invoker (its connection pool and HTTP settings).
/// </summary>
public sealed partial class FanOutForwarder(RegionRequestBuilder builder, RoutingMetrics metrics, TimeProvider time, ILogger<FanOutForwarder> logger)
{
    /// <param name="deadline">The request's deadline timer (linked to its abort token); re-armed here with the sync deadline.</param>
    public async Task ForwardAsync(HttpContext context, WebhookRequest webhook, string provider,
        IReadOnlyList<string> regions, HttpTransformer transformer, RoutingOptions settings,
        CancellationTokenSource deadline)
    {
        ArgumentNullException.ThrowIfNull(deadline);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(webhook);
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(settings);

        // Requests are built here, on the request's own thread: transforms read HttpContext, which is not thread safe.
        var legs = new List<Task<LegResult>>(regions.Count);
        // One timer bounds every leg; it outlives the answer to the sender and is released when the last leg ends.
        var legsTimeout = new CancellationTokenSource(settings.RegionTimeout, time);
        var failures = new List<LegResult>();
        foreach (var region in regions)
        {
            if (!builder.TryPickRegion(region, context, out var target, out var error))
            {
                metrics.RegionFailure(provider, RoutingModes.AllRegions, region, error);
                failures.Add(new LegResult(region, null, error));
                continue;
            }

            var message = await RegionRequestBuilder.BuildAsync(context, webhook, target, transformer);
            legs.Add(SendAsync(target, provider, message, legsTimeout.Token));
        }

        _ = Task.WhenAll(legs).ContinueWith(static (_, cts) => ((CancellationTokenSource)cts!).Dispose(), legsTimeout,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        var pending = new List<Task<LegResult>>(legs);
        LegResult? winner = null;
        var timedOut = false;
        deadline.CancelAfter(settings.SyncDeadline);
        while (pending.Count > 0)
        {
            Task<LegResult> done;
            try
            {
                done = await Task.WhenAny(pending).WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = !context.RequestAborted.IsCancellationRequested;
                break;
            }

            pending.Remove(done);
            var result = await done;
            if (result.Response is not null)
            {
                winner = result;
                break;
            }

            failures.Add(result);
        }

        // The other legs keep going until their own timeout: every region must see the webhook, even after we answered.
        foreach (var leg in pending)
        {
            _ = leg.ContinueWith(static t => t.Result.Response?.Dispose(), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        if (winner is not null)
        {
            await CopyAnswerAsync(context, winner, transformer, settings, deadline.Token);
            return;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var errors = failures.ToDictionary(f => f.Region, f => f.ErrorType ?? "unknown", StringComparer.Ordinal);
        if (timedOut)
        {
            foreach (var region in regions.Where(r => !errors.ContainsKey(r)))
            {
                errors[region] = ForwardingErrors.Timeout;
            }
        }

        metrics.SyncFailure(provider, RoutingModes.AllRegions, "all", timedOut ? ForwardingErrors.Timeout : "all_regions_failed");
        var status = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        var detail = timedOut
            ? $"no region answered within {settings.SyncDeadline.TotalMilliseconds:0} ms"
            : "every region failed: " + string.Join(", ", errors.Select(e => $"{e.Key}: {e.Value}"));
        LogAllRegionsFailed(logger, provider, detail);
        await ProblemResponse.WriteAsync(context, status,
            timedOut ? ProblemTypes.RegionTimeout : ProblemTypes.RegionUnavailable, ProblemResponse.TitleFor(status), detail, errors);
    }

    private async Task<LegResult> SendAsync(RegionTarget target, string provider, HttpRequestMessage message, CancellationToken timeout)
    {
        var region = target.Name;
        using var activity = RoutingActivity.Source.StartActivity("region call", ActivityKind.Client);
        activity?.SetTag("proxy.region", region);
        activity?.SetTag("proxy.mode", RoutingModes.AllRegions);
        activity?.SetTag("webhook.provider", provider);
        var started = time.GetTimestamp();
        try
        {
            var response = await RegionRequestBuilder.SendAsync(target, message, timeout);
            metrics.RegionCall(region, RoutingModes.AllRegions, (int)response.StatusCode, time.GetElapsedTime(started));
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            return new LegResult(region, response, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            var errorType = ForwardingErrors.Classify(ex);
            metrics.RegionCall(region, RoutingModes.AllRegions, null, time.GetElapsedTime(started));
            metrics.RegionFailure(provider, RoutingModes.AllRegions, region, errorType);
            activity?.SetStatus(ActivityStatusCode.Error, errorType);
            activity?.SetTag("error.type", errorType);
            LogRegionFailed(logger, region, errorType, ex.Message);
            return new LegResult(region, null, errorType);
        }
        finally
        {
            message.Dispose();
        }
    }

    private static async Task CopyAnswerAsync(HttpContext context, LegResult winner, HttpTransformer transformer, RoutingOptions settings,
        CancellationToken deadline)
    {
        using var response = winner.Response!;
        context.Response.StatusCode = (int)response.StatusCode;
        var copyBody = await transformer.TransformResponseAsync(context, response, context.RequestAborted);
        if (!string.IsNullOrEmpty(settings.AnsweredByHeader))
        {
            context.Response.Headers[settings.AnsweredByHeader] = winner.Region;
        }

        if (copyBody)
        {
            // The sync deadline bounds the body too: a region that stalls mid-answer cannot hold the sender.
            await response.Content.CopyToAsync(context.Response.Body, deadline);
        }
    }

    private sealed record LegResult(string Region, HttpResponseMessage? Response, string? ErrorType);

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Region {Region} failed ({ErrorType}): {Message}")]
    private static partial void LogRegionFailed(ILogger logger, string region, string errorType, string message);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "No region answered a {Provider} webhook: {Detail}")]
    private static partial void LogAllRegionsFailed(ILogger logger, string provider, string detail);
}
