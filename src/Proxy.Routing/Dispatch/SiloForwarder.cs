using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Proxy.Routing.Problems;
using Proxy.Routing.Telemetry;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Control and first-region answers: the rest of YARP's pipeline (load balancing, passive health, the forwarder)
/// streams the request to the chosen cluster and its answer back. Region calls are bounded by the request's deadline.
/// </summary>
internal sealed partial class SiloForwarder(RoutingMetrics metrics, TimeProvider time, ILogger<SiloForwarder> logger)
{
    /// <param name="name">The silo's name in answers, metrics and logs: a region, or "control".</param>
    /// <param name="bounded">True for region calls, which the sync deadline bounds; control pages are not bounded.</param>
    /// <param name="answerFailure">
    /// False when the caller has somewhere else to send the webhook: a silo that gives no answer is then counted and
    /// logged but nothing is written, and the result is false.
    /// </param>
    /// <returns>True when the sender has its answer (the silo's, a problem, or none because it went away).</returns>
    public async Task<bool> ForwardAsync(WebhookExchange exchange, string mode, string name, ClusterState? cluster, bool bounded,
        RequestDelegate next, bool answerFailure = true)
    {
        var context = exchange.Context;
        if (cluster is null)
        {
            metrics.RegionFailure(exchange.Provider, mode, name, ForwardingErrors.NotConfigured);
            metrics.SyncFailure(exchange.Provider, mode, name, ForwardingErrors.NotConfigured);
            if (!answerFailure)
            {
                return false;
            }

            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.RegionNotConfigured, ProblemResponse.TitleFor(503),
                $"no cluster is configured for '{name}'");
            return true;
        }

        context.ReassignProxyRequest(cluster);
        using var activity = RoutingActivity.StartRegionCall(name, mode, exchange.Provider, null);
        var originalAborted = context.RequestAborted;
        if (bounded)
        {
            // A sync sender (Slack: 3 s) gets a clear 504 instead of its own timeout and a blind retry.
            context.RequestAborted = exchange.Deadline;
        }

        var started = time.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            context.RequestAborted = originalAborted;
            RoutingActivity.ForwardingTo(cluster.ClusterId);
        }

        var elapsed = time.GetElapsedTime(started);
        RoutingActivity.SetServer(activity, context.GetReverseProxyFeature().ProxiedDestination?.Model.Config.Address);
        var error = context.GetForwarderErrorFeature();
        if (error is null)
        {
            metrics.RegionCall(name, mode, context.Response.StatusCode, elapsed);
            RoutingActivity.Answered(activity, context.Response.StatusCode, null);
            return true;
        }

        var timedOut = bounded && exchange.DeadlinePassed;
        var errorType = timedOut ? ForwardingErrors.Timeout
            : error.Exception is HttpRequestException http ? ForwardingErrors.Classify(http)
            : ForwardingErrors.Classify(error.Error);
        metrics.RegionCall(name, mode, null, elapsed, errorType);
        RoutingActivity.Answered(activity, null, errorType);
        metrics.RegionFailure(exchange.Provider, mode, name, errorType);
        if (bounded)
        {
            metrics.SyncFailure(exchange.Provider, mode, name, errorType);
        }

        exchange.Activity?.SetStatus(ActivityStatusCode.Error, errorType);
        exchange.Activity?.SetTag(TelemetryAttributes.ErrorType, errorType);
        // A routine upstream failure is one line: the classified error and the exception's message, no stack trace.
        LogForwardFailed(logger, exchange.Provider, name, errorType, error.Exception?.Message ?? error.Error.ToString());
        if (originalAborted.IsCancellationRequested)
        {
            return true;
        }

        if (!answerFailure && !context.Response.HasStarted)
        {
            // Ready for another forward: no error, no status, the buffered body from its start.
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Clear();
            if (context.Request.Body.CanSeek)
            {
                context.Request.Body.Position = 0;
            }

            return false;
        }

        var status = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        await ProblemResponse.WriteAsync(context, status, timedOut ? ProblemTypes.RegionTimeout : ProblemTypes.RegionUnavailable,
            ProblemResponse.TitleFor(status),
            timedOut
                ? $"'{name}' did not answer within {exchange.Settings.SyncDeadline.TotalMilliseconds:0} ms"
                : $"'{name}' failed: {errorType}",
            new Dictionary<string, string> { [name] = errorType });
        return true;
    }

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Forwarding a {Provider} webhook to {Target} failed ({ErrorType}): {Message}")]
    private static partial void LogForwardFailed(ILogger logger, string provider, string target, string errorType, string message);
}
