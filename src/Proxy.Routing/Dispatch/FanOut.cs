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

        // Targets first (no I/O): the race must know how many legs will report before the first one can.
        var failures = new List<LegResult>();
        var targets = new List<RegionTarget>(regions.Count);
        foreach (var region in regions)
        {
            if (builder.TryPickRegion(region, context, out var target, out var error))
            {
                targets.Add(target);
            }
            else
            {
                metrics.RegionFailure(exchange.Provider, RoutingModes.AllRegions, region, error);
                failures.Add(new LegResult(region, null, error));
            }
        }

        // One timer bounds every leg; it outlives the answer to the sender and is released with the slots when the last leg ends.
        var legsTimeout = new CancellationTokenSource(settings.RegionTimeout, time);
        var race = new LegRace(targets.Count, failures, legsTimeout, slots);
        background.Track(race.AllDone);
        if (targets.Count > 0)
        {
            // Messages are built here, on the request's own thread: transforms read HttpContext, which is not thread safe.
            // The first leg leaves at once from this thread; the others are built after it and leave together from one
            // thread-pool item, so the first region's answer never waits for them to be written.
            var provider = exchange.Provider;
            var built = 0;
            try
            {
                var first = await RegionRequestBuilder.BuildAsync(context, exchange.Webhook, targets[0], transformer);
                built = 1;
                _ = SendAsync(targets[0], provider, first, race, legsTimeout.Token);
                var later = new (RegionTarget, HttpRequestMessage)[targets.Count - 1];
                for (; built < targets.Count; built++)
                {
                    later[built - 1] = (targets[built], await RegionRequestBuilder.BuildAsync(context, exchange.Webhook, targets[built], transformer));
                }

                if (later.Length > 0)
                {
                    ThreadPool.QueueUserWorkItem(static state =>
                    {
                        foreach (var (target, message) in state.Later)
                        {
                            _ = state.Self.SendAsync(target, state.Provider, message, state.Race, state.Token);
                        }
                    }, (Self: this, Later: later, Provider: provider, Race: race, Token: legsTimeout.Token), preferLocal: false);
                }
            }
            catch
            {
                // A leg that could not be built never leaves; it reports so that the race (and its slots) still end. The
                // later legs built before it are dropped unsent and report as well; only a first leg already sent is awaited.
                for (var i = built == 0 ? 0 : 1; i < targets.Count; i++)
                {
                    race.Report(new LegResult(targets[i].Name, null, "request_build_failed"));
                }

                throw;
            }
        }

        LegResult? winner = null;
        try
        {
            winner = await race.Answer.WaitAsync(exchange.Deadline);
        }
        catch (OperationCanceledException)
        {
            // The deadline (or the sender) ended the wait: answers arriving from now on are only released.
            race.Abandon()?.Response?.Dispose();
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

        await WriteFailureAsync(exchange, regions, race.Failures(), timedOut: exchange.DeadlinePassed);
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

    /// <summary>One leg, which always reports to the race (an unexpected failure too), so the race always ends.</summary>
    private async Task SendAsync(RegionTarget target, string provider, HttpRequestMessage message, LegRace race, CancellationToken timeout)
    {
        LegResult result;
        try
        {
            result = await SendOneAsync(target, provider, message, timeout);
        }
        catch (Exception ex)
        {
            LogRegionFailed(logger, target.Name, ForwardingErrors.Classify(ex), ex.Message);
            result = new LegResult(target.Name, null, ForwardingErrors.Classify(ex));
        }

        race.Report(result);
    }

    private async Task<LegResult> SendOneAsync(RegionTarget target, string provider, HttpRequestMessage message, CancellationToken timeout)
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

    /// <summary>
    /// The legs of one fan-out racing to answer. The first answer (any status) wins and resumes the waiting request on
    /// the thread that received it; answers after it, or after the wait was abandoned, are released at once. When every
    /// leg failed, the answer is null. The legs' timer and concurrency slots go back when the last leg has reported.
    /// </summary>
    private sealed class LegRace
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource<LegResult?> _answer = new();
        private readonly TaskCompletionSource _allDone = new();
        private readonly List<LegResult> _failures;
        private readonly CancellationTokenSource _timer;
        private readonly RateLimitLease _slots;
        private int _pending;
        private bool _decided;
        private LegResult? _winner;

        public LegRace(int legs, List<LegResult> failures, CancellationTokenSource timer, RateLimitLease slots)
        {
            (_pending, _failures, _timer, _slots) = (legs, failures, timer, slots);
            if (legs == 0)
            {
                _decided = true;
                _answer.SetResult(null);
                Release();
            }
        }

        public Task<LegResult?> Answer => _answer.Task;

        public Task AllDone => _allDone.Task;

        public List<LegResult> Failures()
        {
            lock (_gate)
            {
                return [.. _failures];
            }
        }

        public void Report(LegResult result)
        {
            bool wins = false, allFailed = false, release, last;
            lock (_gate)
            {
                last = --_pending == 0;
                release = _decided && result.Response is not null;
                if (result.Response is null)
                {
                    _failures.Add(result);
                    allFailed = last && !_decided;
                    _decided |= allFailed;
                }
                else if (!_decided)
                {
                    (_decided, _winner, wins) = (true, result, true);
                }
            }

            if (release)
            {
                result.Response!.Dispose();
            }

            if (last)
            {
                Release();
            }

            // Outside the lock: the winner's continuation (copying the answer) runs inline here.
            if (wins || allFailed)
            {
                _answer.TrySetResult(wins ? result : null);
            }
        }

        /// <summary>Stops the race for a request that no longer waits; returns a winner decided meanwhile, for the caller to release.</summary>
        public LegResult? Abandon()
        {
            lock (_gate)
            {
                var winner = _winner;
                _decided = true;
                _winner = null;
                return winner;
            }
        }

        private void Release()
        {
            _timer.Dispose();
            _slots.Dispose();
            _allDone.TrySetResult();
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Region {Region} failed ({ErrorType}): {Message}")]
    private static partial void LogRegionFailed(ILogger logger, string region, string errorType, string message);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "No region answered a {Provider} webhook: {Detail}")]
    private static partial void LogAllRegionsFailed(ILogger logger, string provider, string detail);
}
