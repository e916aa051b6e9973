using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Proxy.Routing.Problems;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Sends one buffered webhook to every region in parallel and answers with the first region answer to complete
/// (a 4xx/5xx is an answer). YARP's forwarder can send a request only once, so each region gets its own
/// HttpRequestMessage from <see cref="RegionRequestBuilder"/>, sent through the region cluster's own invoker.
/// Legs still running after the answer go on (every region must see the webhook) and are drained on shutdown.
/// </summary>
internal sealed partial class FanOut(RegionRequestBuilder builder, BackgroundSends background, RoutingMetrics metrics,
    TimeProvider time, ILogger<FanOut> logger)
{
    public async Task ForwardAsync(WebhookExchange exchange, IReadOnlyList<string> regions)
    {
        var context = exchange.Context;
        var settings = exchange.Settings;
        var transformer = exchange.Transformer;
        var slots = await AcquireLegsAsync(exchange, regions.Count);
        if (slots is null)
        {
            return;
        }

        var legs = new List<Task<LegResult>>(regions.Count);
        // One timer bounds every leg; it outlives the answer to the sender and is released when the last leg ends.
        var legsTimeout = new CancellationTokenSource(settings.RegionTimeout, time);
        var failures = new List<LegResult>();
        foreach (var region in regions)
        {
            if (!builder.TryPickRegion(region, context, out var target, out var error))
            {
                metrics.RegionFailure(exchange.Provider, RoutingModes.AllRegions, region, error);
                failures.Add(new LegResult(region, null, error));
                continue;
            }

            // Built here, on the request's own thread: transforms read HttpContext, which is not thread safe. The first
            // leg is sent from this thread; the others start on the thread pool, so they leave in parallel instead of
            // each waiting for the previous one's socket write.
            var message = await RegionRequestBuilder.BuildAsync(context, exchange.Webhook, target, transformer);
            var provider = exchange.Provider;
            var token = legsTimeout.Token;
            legs.Add(legs.Count == 0 ? SendAsync(target, provider, message, token) : Task.Run(() => SendAsync(target, provider, message, token)));
        }

        var allLegs = Task.WhenAll(legs);
        _ = allLegs.ContinueWith(static (_, state) =>
            {
                var (timer, lease) = ((CancellationTokenSource, RateLimitLease))state!;
                timer.Dispose();
                lease.Dispose();
            }, (legsTimeout, slots), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        background.Track(allLegs);

        var pending = new List<Task<LegResult>>(legs);
        LegResult? winner = null;
        while (pending.Count > 0)
        {
            Task<LegResult> done;
            try
            {
                done = await Task.WhenAny(pending).WaitAsync(exchange.Deadline);
            }
            catch (OperationCanceledException)
            {
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

        foreach (var leg in pending)
        {
            _ = leg.ContinueWith(static t => t.Result.Response?.Dispose(), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        if (winner is not null)
        {
            await CopyAnswerAsync(exchange, winner);
            return;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        await WriteFailureAsync(exchange, regions, failures, timedOut: exchange.DeadlinePassed);
    }

    /// <summary>
    /// Slots for this webhook's legs under <c>Routing:MaxConcurrentFanOutLegs</c>, waited for within the sync deadline
    /// (a fan-out wider than the cap takes the whole cap). Null when the sender was answered 503: every region gets a
    /// webhook or none does.
    /// </summary>
    private async Task<RateLimitLease?> AcquireLegsAsync(WebhookExchange exchange, int legs)
    {
        var limiter = Limiter(exchange.Settings.MaxConcurrentFanOutLegs);
        try
        {
            var lease = await limiter.Limiter.AcquireAsync(Math.Min(legs, limiter.Permits), exchange.Deadline);
            if (lease.IsAcquired)
            {
                return lease;
            }

            lease.Dispose();
        }
        catch (OperationCanceledException) when (exchange.Context.RequestAborted.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            // The deadline passed while waiting for slots: refused like a full queue.
        }

        metrics.RateLimited("fan_out_legs", exchange.Provider);
        await ProblemResponse.WriteAsync(exchange.Context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.FanOutSaturated,
            ProblemResponse.TitleFor(503), $"{limiter.Permits} region calls of other webhooks are in flight; retry later",
            retryAfter: TimeSpan.FromSeconds(1));
        return null;
    }

    private LegLimiter Limiter(int permits)
    {
        var current = _limiter;
        if (current is not null && current.Permits == permits)
        {
            return current;
        }

        // A changed setting takes effect for new webhooks; legs in flight give their slots back to the limiter they took them from.
        var created = new LegLimiter(permits, new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = permits,
            QueueLimit = permits,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }));
        return Interlocked.CompareExchange(ref _limiter, created, current) == current ? created : _limiter!;
    }

    private LegLimiter? _limiter;

    private sealed record LegLimiter(int Permits, ConcurrencyLimiter Limiter);

    private async Task WriteFailureAsync(WebhookExchange exchange, IReadOnlyList<string> regions, List<LegResult> failures, bool timedOut)
    {
        var errors = failures.ToDictionary(f => f.Region, f => f.ErrorType ?? "unknown", StringComparer.Ordinal);
        if (timedOut)
        {
            foreach (var region in regions.Where(r => !errors.ContainsKey(r)))
            {
                errors[region] = ForwardingErrors.Timeout;
            }
        }

        metrics.SyncFailure(exchange.Provider, RoutingModes.AllRegions, "all", timedOut ? ForwardingErrors.Timeout : "all_regions_failed");
        var status = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        var detail = timedOut
            ? $"no region answered within {exchange.Settings.SyncDeadline.TotalMilliseconds:0} ms"
            : "every region failed: " + string.Join(", ", errors.Select(e => $"{e.Key}: {e.Value}"));
        LogAllRegionsFailed(logger, exchange.Provider, detail);
        await ProblemResponse.WriteAsync(exchange.Context, status,
            timedOut ? ProblemTypes.RegionTimeout : ProblemTypes.RegionUnavailable, ProblemResponse.TitleFor(status), detail, errors);
    }

    private async Task<LegResult> SendAsync(RegionTarget target, string provider, HttpRequestMessage message, CancellationToken timeout)
    {
        var region = target.Name;
        using var activity = RoutingActivity.StartRegionCall(region, RoutingModes.AllRegions, provider, target.Destination.Model.Config.Address);
        var started = time.GetTimestamp();
        try
        {
            var response = await builder.SendAsync(target, message, timeout);
            metrics.RegionCall(region, RoutingModes.AllRegions, (int)response.StatusCode, time.GetElapsedTime(started));
            RoutingActivity.Answered(activity, (int)response.StatusCode, null);
            return new LegResult(region, response, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            var errorType = ForwardingErrors.Classify(ex);
            metrics.RegionCall(region, RoutingModes.AllRegions, null, time.GetElapsedTime(started), errorType);
            metrics.RegionFailure(provider, RoutingModes.AllRegions, region, errorType);
            RoutingActivity.Answered(activity, null, errorType);
            LogRegionFailed(logger, region, errorType, ex.Message);
            return new LegResult(region, null, errorType);
        }
        finally
        {
            message.Dispose();
        }
    }

    private static async Task CopyAnswerAsync(WebhookExchange exchange, LegResult winner)
    {
        var context = exchange.Context;
        using var response = winner.Response!;
        context.Response.StatusCode = (int)response.StatusCode;
        var copyBody = await exchange.Transformer.TransformResponseAsync(context, response, context.RequestAborted);
        if (!string.IsNullOrEmpty(exchange.Settings.AnsweredByHeader))
        {
            // After the transforms, which named the route's own cluster.
            context.Response.Headers[exchange.Settings.AnsweredByHeader] = winner.Region;
        }

        if (copyBody)
        {
            // The deadline bounds the body too: a region that stalls mid-answer cannot hold the sender.
            await response.Content.CopyToAsync(context.Response.Body, exchange.Deadline);
        }
    }

    private sealed record LegResult(string Region, HttpResponseMessage? Response, string? ErrorType);

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Region {Region} failed ({ErrorType}): {Message}")]
    private static partial void LogRegionFailed(ILogger logger, string region, string errorType, string message);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "No region answered a {Provider} webhook: {Detail}")]
    private static partial void LogAllRegionsFailed(ILogger logger, string provider, string detail);
}
