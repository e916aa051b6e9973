using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Duplicates;
using Proxy.Routing.Limits;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;
using Proxy.Routing.Regions;
using Proxy.Routing.Signatures;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Carries out a parser's decision: resolve the target's regions (within the request's deadline), then hand the
/// webhook to one strategy: YARP's forwarder (control, first region), the fan-out (all regions), deferred answers or
/// the mailbox. This is the only place that does network I/O for a webhook.
/// </summary>
internal sealed partial class WebhookDispatcher(
    IRegionDirectory directory,
    RegionClusters clusters,
    SiloForwarder silos,
    FanOut fanOut,
    DeferredAnswers deferred,
    MailboxAccept mailbox,
    DuplicateSuppression duplicates,
    RegionRequestBuilder builder,
    IOptionsMonitor<ProviderSecretsOptions> providers,
    EdgeRateLimits limits,
    RoutingMetrics metrics,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger)
{
    private static readonly TimeSpan s_directoryRetryAfter = TimeSpan.FromSeconds(5);

    // A sender decides how often a refusal is logged: bound it. The decision metric counts every one.
    private readonly LogThrottle _rejections = new(time);

    public Task DispatchAsync(WebhookExchange exchange, RoutingIntent intent, RequestDelegate next)
    {
        exchange.Activity?.SetTag(TelemetryAttributes.Reason, intent.Reason);
        switch (intent)
        {
            case RoutingIntent.ToRegions toRegions:
                return ToRegionsAsync(exchange, toRegions, next);
            case RoutingIntent.Reject reject:
                return RejectAsync(exchange.Context, exchange.Provider, exchange.Activity, reject.Status, reject.ProblemType, reject.Detail, reject.Allow);
            case RoutingIntent.Respond respond:
                Decided(exchange.Activity, exchange.Provider, RoutingModes.Respond);
                exchange.Context.Response.StatusCode = respond.Status;
                return Task.CompletedTask;
            default:
                return ToControlAsync(exchange, next);
        }
    }

    private Task ToControlAsync(WebhookExchange exchange, RequestDelegate next)
    {
        Decided(exchange.Activity, exchange.Provider, RoutingModes.Control);
        return silos.ForwardAsync(exchange, RoutingModes.Control, "control", clusters.ById(exchange.Settings.ControlCluster), bounded: false, next);
    }

    public async Task RejectAsync(HttpContext context, string provider, Activity? activity, int status, string type, string detail,
        string? allow = null, TimeSpan? retryAfter = null)
    {
        Decided(activity, provider, RoutingModes.Reject);
        activity?.SetTag(TelemetryAttributes.ErrorType, type);
        if (_rejections.TryEnter(out var suppressed))
        {
            LogRejected(logger, provider, status, detail, suppressed);
        }

        await ProblemResponse.WriteAsync(context, status, type, ProblemResponse.TitleFor(status), detail, allow: allow, retryAfter: retryAfter);
    }

    private async Task ToRegionsAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RequestDelegate next)
    {
        var (context, provider, activity) = (exchange.Context, exchange.Provider, exchange.Activity);
        var target = intent.Target.ToString();
        activity?.SetTag(TelemetryAttributes.Target, target);
        using (var lease = limits.AcquireForIntegration(provider, target))
        {
            if (!lease.IsAcquired)
            {
                metrics.RateLimited("integration", provider);
                var wait = EdgeRateLimits.RetryAfter(lease);
                await RejectAsync(context, provider, activity, StatusCodes.Status429TooManyRequests, ProblemTypes.RateLimited,
                    $"too many webhooks for {target}; retry after {Math.Ceiling(wait.TotalSeconds):0} s", retryAfter: wait);
                return;
            }
        }

        RegionResolution resolution;
        try
        {
            resolution = await directory.ResolveAsync(intent.Target, exchange.Deadline);
        }
        catch (Exception ex) when (ex is DirectoryUnavailableException || (ex is OperationCanceledException && exchange.DeadlinePassed))
        {
            // Never guess: the sender retries, and nothing is cached as unknown.
            var errorType = ex is DirectoryUnavailableException unavailable ? unavailable.ErrorType : ForwardingErrors.Timeout;
            metrics.RegionFailure(provider, RoutingModes.Directory, "control", errorType);
            activity?.SetTag(TelemetryAttributes.ErrorType, errorType);
            LogDirectoryUnavailable(logger, provider, intent.Target.ToString(), errorType);
            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.DirectoryUnavailable, ProblemResponse.TitleFor(503),
                $"the integration directory could not be read ({errorType}); retry later", retryAfter: s_directoryRetryAfter);
            return;
        }

        if (resolution.Kind != ResolutionKind.Found)
        {
            await NoRegionAsync(exchange, intent, resolution);
            return;
        }

        activity?.SetTag(TelemetryAttributes.Regions, string.Join(',', resolution.Regions));
        // Claimed before anything is stored or sent; released unless the sender got a 2xx, so its retry is delivered.
        var check = await duplicates.ClaimAsync(exchange, intent);
        if (check.IsDuplicate)
        {
            Decided(activity, provider, RoutingModes.Duplicate);
            context.Response.StatusCode = intent.Delivery == RegionDelivery.Mailbox ? StatusCodes.Status202Accepted : StatusCodes.Status200OK;
            return;
        }

        var accepted = false;
        try
        {
            await DeliverAsync(exchange, intent, resolution, next);
            accepted = context.Response.StatusCode is >= 200 and < 300;
        }
        finally
        {
            if (!accepted)
            {
                await duplicates.ReleaseAsync(check, provider);
            }
        }
    }

    private async Task DeliverAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RegionResolution resolution, RequestDelegate next)
    {
        var (provider, activity) = (exchange.Provider, exchange.Activity);
        if (intent.Delivery == RegionDelivery.Mailbox)
        {
            await ToMailboxAsync(exchange, intent, resolution, next);
            return;
        }

        if (intent.ResponseUrl is { } responseUrl && providers.CurrentValue.For(provider).AllowsResponseUrl(responseUrl))
        {
            Decided(activity, provider, RoutingModes.Deferred);
            await DeferAsync(exchange, intent, resolution, responseUrl);
            return;
        }

        if (intent.Delivery == RegionDelivery.FirstRegion)
        {
            Decided(activity, provider, RoutingModes.FirstRegion);
            var first = resolution.Regions[0];
            await silos.ForwardAsync(exchange, RoutingModes.FirstRegion, first, clusters.ForRegion(first), bounded: true, next);
            return;
        }

        Decided(activity, provider, RoutingModes.AllRegions);
        await fanOut.ForwardAsync(exchange, resolution.Regions);
    }

    /// <summary>
    /// Stores the webhook for the regions a cluster serves. A region without a cluster is decided here, before anything
    /// is stored (an entry for it could never be delivered): it is skipped, logged and counted; when no region of the
    /// webhook has a cluster, control answers it, as the reference does with a region it cannot resolve.
    /// </summary>
    private async Task ToMailboxAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RegionResolution resolution, RequestDelegate next)
    {
        var (provider, activity) = (exchange.Provider, exchange.Activity);
        var served = new List<string>(resolution.Regions.Count);
        foreach (var region in resolution.Regions)
        {
            if (clusters.ForRegion(region) is not null)
            {
                served.Add(region);
                continue;
            }

            metrics.RegionFailure(provider, RoutingModes.Mailbox, region, ForwardingErrors.NotConfigured);
            LogRegionWithoutCluster(logger, provider, region);
        }

        if (served.Count == 0)
        {
            LogMailboxToControl(logger, provider, string.Join(',', resolution.Regions));
            activity?.SetTag(TelemetryAttributes.ErrorType, ForwardingErrors.NotConfigured);
            await ToControlAsync(exchange, next);
            return;
        }

        Decided(activity, provider, RoutingModes.Mailbox);
        await mailbox.AcceptAsync(exchange, intent, served.Count == resolution.Regions.Count ? resolution : resolution with { Regions = served });
    }

    private Task NoRegionAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RegionResolution resolution)
    {
        var unknown = resolution.Kind == ResolutionKind.UnknownTarget;
        var status = unknown ? intent.UnknownTargetStatus : intent.NoRegionStatus;
        if (status is >= 200 and < 300)
        {
            Decided(exchange.Activity, exchange.Provider, RoutingModes.NoRegion);
            exchange.Context.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        return RejectAsync(exchange.Context, exchange.Provider, exchange.Activity, status,
            unknown ? ProblemTypes.UnknownIntegration : ProblemTypes.NoRegion,
            unknown ? $"no {exchange.Provider} integration matches {intent.Target}" : $"no active organization is behind {intent.Target}");
    }

    /// <summary>Answers 200 now; the region answer goes to the response URL later.</summary>
    private async Task DeferAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RegionResolution resolution, string responseUrl)
    {
        var regions = intent.Delivery == RegionDelivery.FirstRegion ? resolution.Regions.Take(1) : resolution.Regions;
        var legs = new List<DeferredLeg>();
        foreach (var region in regions)
        {
            if (!builder.TryPickRegion(region, exchange.Context, out var target, out var error))
            {
                metrics.RegionFailure(exchange.Provider, RoutingModes.Deferred, region, error);
                continue;
            }

            legs.Add(new DeferredLeg(target, await RegionRequestBuilder.BuildAsync(exchange.Context, exchange.Webhook, target, exchange.Transformer)));
        }

        deferred.Start(exchange.Provider, responseUrl, legs);
        exchange.Context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private void Decided(Activity? activity, string provider, string mode)
    {
        activity?.SetTag(TelemetryAttributes.Mode, mode);
        metrics.Decision(provider, mode);
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information,
        Message = "Rejected a {Provider} webhook with {Status}: {Detail} ({Suppressed} similar lines left out before this one)")]
    private static partial void LogRejected(ILogger logger, string provider, int status, string detail, long suppressed);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning,
        Message = "A {Provider} webhook for region {Region} was not stored: no cluster serves that region")]
    private static partial void LogRegionWithoutCluster(ILogger logger, string provider, string region);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning,
        Message = "No cluster serves any region ({Regions}) of a {Provider} webhook; control answers it and nothing is stored")]
    private static partial void LogMailboxToControl(ILogger logger, string provider, string regions);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning,
        Message = "The directory could not resolve {Target} for a {Provider} webhook ({ErrorType}); answered 503")]
    private static partial void LogDirectoryUnavailable(ILogger logger, string provider, string target, string errorType);
}
