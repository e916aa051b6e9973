using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;
using Proxy.Routing.Regions;
using Proxy.Routing.Requests;
using Proxy.Routing.Signatures;
using Proxy.Routing.Telemetry;
using Yarp.ReverseProxy.Model;

namespace Proxy.Routing;

/// <summary>
/// The routing step of the YARP pipeline, for routes whose metadata has <c>"IntegrationRouting": "true"</c>: read the
/// webhook once, let the provider's parser decide, resolve regions, then dispatch. Control and first-region answers go
/// through YARP's own forwarder (streaming, health checks, load balancing); all-regions goes through the fan-out.
/// </summary>
internal sealed partial class IntegrationRoutingMiddleware(
    RequestDelegate next,
    IServiceProvider services,
    ParserRegistry parsers,
    SignatureRegistry signatures,
    IRegionDirectory resolver,
    RegionClusters clusters,
    RegionRequestBuilder builder,
    FanOutForwarder fanOut,
    DeferredResponder deferred,
    IOptionsMonitor<ProviderSecretsOptions> providers,
    RoutingMetrics metrics,
    IOptionsMonitor<RoutingOptions> options,
    TimeProvider time,
    ILogger<IntegrationRoutingMiddleware> logger)
{
    public const string RouteMetadataKey = "IntegrationRouting";

    public async Task InvokeAsync(HttpContext context)
    {
        var route = context.GetRouteModel();
        if (route.Config.Metadata is null || !route.Config.Metadata.TryGetValue(RouteMetadataKey, out var enabled)
            || !string.Equals(enabled, "true", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        HeaderPolicy.StripSpoofable(context.Request.Headers);
        var settings = options.CurrentValue;
        var provider = WebhookPath.ProviderOf(context.Request.Path) ?? "unknown";
        using var activity = RoutingActivity.Source.StartActivity("webhook route");
        activity?.SetTag("webhook.provider", provider);

        // One timer per request: first the body-read deadline, then (re-armed) the sync deadline of region calls.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(settings.BodyReadTimeout);
        var read = await WebhookRequestReader.ReadAsync(context, settings.MaxBodyBytes, settings.BodyReadTimeout, deadline.Token);
        if (read.Request is not { } webhook)
        {
            await RejectAsync(context, provider, read.Status, read.ProblemType!, read.Detail!, activity);
            return;
        }

        // YARP streams Request.Body to the destination: hand it the bytes we already read.
        if (MemoryMarshal.TryGetArray(webhook.Body, out var segment))
        {
            context.Request.Body = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
        }

        var intent = Decide(provider, webhook);
        activity?.SetTag("proxy.reason", intent.Reason);
        switch (intent)
        {
            case RoutingIntent.Control:
                await ForwardThroughYarpAsync(context, provider, RoutingModes.Control, settings.ControlCluster, "control",
                    clusters.ById(settings.ControlCluster), settings, deadline, activity);
                break;
            case RoutingIntent.Reject reject:
                await RejectAsync(context, provider, reject.Status, reject.ProblemType, reject.Detail, activity);
                break;
            case RoutingIntent.Respond respond:
                Decided(activity, provider, RoutingModes.Respond);
                context.Response.StatusCode = respond.Status;
                break;
            case RoutingIntent.ToRegions toRegions:
                await ToRegionsAsync(context, webhook, provider, toRegions, settings, deadline, activity);
                break;
        }
    }

    private RoutingIntent Decide(string provider, WebhookRequest webhook)
    {
        if (WebhookPath.IsControlFlow(webhook.Path))
        {
            return new RoutingIntent.Control("install and link pages are served by control");
        }

        if (!parsers.TryGet(provider, out var parser))
        {
            return new RoutingIntent.Control($"no parser for provider '{provider}'");
        }

        if (signatures.Verify(provider, webhook, time.GetUtcNow(), out var reason) == SignatureVerdict.Invalid)
        {
            return new RoutingIntent.Reject(401, ProblemTypes.InvalidSignature, $"the {provider} signature is invalid: {reason}");
        }

        return parser.Parse(webhook);
    }

    private async Task ToRegionsAsync(HttpContext context, WebhookRequest webhook, string provider,
        RoutingIntent.ToRegions intent, RoutingOptions settings, CancellationTokenSource deadline, Activity? activity)
    {
        RegionResolution resolution;
        try
        {
            using var resolveDeadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            resolveDeadline.CancelAfter(settings.SyncDeadline);
            resolution = await resolver.ResolveAsync(intent.Target, resolveDeadline.Token);
        }
        catch (DirectoryUnavailableException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.DirectoryUnavailable, ProblemResponse.TitleFor(503),
                $"the directory cannot resolve {intent.Target} now ({ex.ErrorType}); retry later", retryAfter: TimeSpan.FromSeconds(5));
            return;
        }

        activity?.SetTag("proxy.target", intent.Target.ToString());
        if (resolution.Kind != ResolutionKind.Found)
        {
            var unknown = resolution.Kind == ResolutionKind.UnknownTarget;
            var status = unknown ? intent.UnknownTargetStatus : intent.NoRegionStatus;
            if (status is >= 200 and < 300)
            {
                Decided(activity, provider, RoutingModes.NoRegion);
                context.Response.StatusCode = status;
                return;
            }

            await RejectAsync(context, provider, status,
                unknown ? ProblemTypes.UnknownIntegration : ProblemTypes.NoRegion,
                unknown ? $"no {provider} integration matches {intent.Target}" : $"no active organization is behind {intent.Target}",
                activity);
            return;
        }

        activity?.SetTag("proxy.regions", string.Join(',', resolution.Regions));
        if (intent.Delivery == RegionDelivery.Mailbox)
        {
            await AcceptIntoMailboxAsync(context, webhook, provider, intent, resolution, activity);
            return;
        }

        if (intent.ResponseUrl is { } responseUrl && providers.CurrentValue.For(provider).AllowsResponseUrl(responseUrl))
        {
            await DeferAsync(context, webhook, provider, intent, resolution, responseUrl, activity);
            return;
        }

        if (intent.Delivery == RegionDelivery.FirstRegion)
        {
            var first = resolution.Regions[0];
            await ForwardThroughYarpAsync(context, provider, RoutingModes.FirstRegion, first, first,
                clusters.ForRegion(first), settings, deadline, activity);
            return;
        }

        Decided(activity, provider, RoutingModes.AllRegions);
        await fanOut.ForwardAsync(context, webhook, provider, resolution.Regions, context.GetRouteModel().Transformer, settings, deadline);
    }

    /// <summary>Answers 200 now; the region answer goes to the response URL later.</summary>
    private async Task DeferAsync(HttpContext context, WebhookRequest webhook, string provider, RoutingIntent.ToRegions intent,
        RegionResolution resolution, string responseUrl, Activity? activity)
    {
        Decided(activity, provider, RoutingModes.Deferred);
        var regions = intent.Delivery == RegionDelivery.FirstRegion ? resolution.Regions.Take(1) : resolution.Regions;
        var transformer = context.GetRouteModel().Transformer;
        var legs = new List<DeferredLeg>();
        foreach (var region in regions)
        {
            if (!builder.TryPickRegion(region, context, out var target, out var error))
            {
                metrics.RegionFailure(provider, RoutingModes.Deferred, region, error);
                continue;
            }

            legs.Add(new DeferredLeg(region, target.Invoker, await RegionRequestBuilder.BuildAsync(context, webhook, target, transformer)));
        }

        deferred.Start(provider, responseUrl, legs);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private async Task AcceptIntoMailboxAsync(HttpContext context, WebhookRequest webhook, string provider,
        RoutingIntent.ToRegions intent, RegionResolution resolution, Activity? activity)
    {
        Decided(activity, provider, RoutingModes.Mailbox);
        var mailbox = services.GetService<IWebhookMailbox>();
        var owner = intent.Target is RoutingTarget.Organization organization ? organization.Id : resolution.IntegrationId;
        if (mailbox is null || owner is null)
        {
            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.ServiceUnavailable, ProblemResponse.TitleFor(503),
                "the webhook mailbox is not configured");
            return;
        }

        var identifier = intent.MailboxSuffix is null
            ? owner.Value.ToString(CultureInfo.InvariantCulture)
            : $"{owner.Value.ToString(CultureInfo.InvariantCulture)}:{intent.MailboxSuffix}";
        try
        {
            var name = await mailbox.AcceptAsync(webhook, provider, identifier, intent.MailboxBucketId, resolution.Regions,
                context.RequestAborted);
            activity?.SetTag("proxy.mailbox", name);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            // Never acknowledge what was not stored: a 503 makes the sender retry.
            LogMailboxFailed(logger, provider, ex);
            activity?.SetStatus(ActivityStatusCode.Error, "mailbox_unavailable");
            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.ServiceUnavailable, ProblemResponse.TitleFor(503),
                "the webhook could not be stored; retry later", retryAfter: TimeSpan.FromSeconds(30));
            return;
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    private async Task ForwardThroughYarpAsync(HttpContext context, string provider, string mode, string target,
        string answeredBy, ClusterState? cluster, RoutingOptions settings, CancellationTokenSource deadline, Activity? activity)
    {
        Decided(activity, provider, mode);
        if (cluster is null)
        {
            metrics.RegionFailure(provider, mode, target, ForwardingErrors.NotConfigured);
            metrics.SyncFailure(provider, mode, target, ForwardingErrors.NotConfigured);
            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.RegionNotConfigured, ProblemResponse.TitleFor(503),
                $"no cluster is configured for '{target}'");
            return;
        }

        context.ReassignProxyRequest(cluster);
        if (!string.IsNullOrEmpty(settings.AnsweredByHeader))
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[settings.AnsweredByHeader] = answeredBy;
                return Task.CompletedTask;
            });
        }

        var isRegion = mode != RoutingModes.Control;
        var originalAborted = context.RequestAborted;
        if (isRegion)
        {
            // A sync sender (Slack: 3 s) gets a clear 504 instead of its own timeout and a blind retry.
            deadline.CancelAfter(settings.SyncDeadline);
            context.RequestAborted = deadline.Token;
        }

        var started = time.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            context.RequestAborted = originalAborted;
        }

        var elapsed = time.GetElapsedTime(started);
        var error = context.GetForwarderErrorFeature();
        if (error is null)
        {
            metrics.RegionCall(target, mode, context.Response.StatusCode, elapsed);
            return;
        }

        var timedOut = isRegion && deadline.IsCancellationRequested && !originalAborted.IsCancellationRequested;
        var errorType = timedOut ? ForwardingErrors.Timeout
            : error.Exception is HttpRequestException http ? ForwardingErrors.Classify(http)
            : ForwardingErrors.Classify(error.Error);
        metrics.RegionCall(target, mode, null, elapsed);
        metrics.RegionFailure(provider, mode, target, errorType);
        if (isRegion)
        {
            metrics.SyncFailure(provider, mode, target, errorType);
        }

        activity?.SetStatus(ActivityStatusCode.Error, errorType);
        activity?.SetTag("error.type", errorType);
        LogForwardFailed(logger, provider, target, errorType, error.Exception);
        if (originalAborted.IsCancellationRequested)
        {
            return;
        }

        var status = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        await ProblemResponse.WriteAsync(context, status, timedOut ? ProblemTypes.RegionTimeout : ProblemTypes.RegionUnavailable,
            ProblemResponse.TitleFor(status),
            timedOut
                ? $"'{target}' did not answer within {settings.SyncDeadline.TotalMilliseconds:0} ms"
                : $"'{target}' failed: {errorType}",
            new Dictionary<string, string> { [target] = errorType });
    }

    private async Task RejectAsync(HttpContext context, string provider, int status, string type, string detail, Activity? activity)
    {
        Decided(activity, provider, RoutingModes.Reject);
        activity?.SetTag("error.type", type);
        LogRejected(logger, provider, status, detail);
        await ProblemResponse.WriteAsync(context, status, type, ProblemResponse.TitleFor(status), detail);
    }

    private void Decided(Activity? activity, string provider, string mode)
    {
        activity?.SetTag("proxy.mode", mode);
        metrics.Decision(provider, mode);
    }

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Could not store a {Provider} webhook in the mailbox")]
    private static partial void LogMailboxFailed(ILogger logger, string provider, Exception exception);

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Rejected a {Provider} webhook with {Status}: {Detail}")]
    private static partial void LogRejected(ILogger logger, string provider, int status, string detail);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Forwarding a {Provider} webhook to {Target} failed ({ErrorType})")]
    private static partial void LogForwardFailed(ILogger logger, string provider, string target, string errorType, Exception? exception);
}
