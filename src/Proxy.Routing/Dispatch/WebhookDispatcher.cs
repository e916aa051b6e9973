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
    ShedValve shed,
    RoutingMetrics metrics,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger)
{
    private static readonly TimeSpan s_directoryRetryAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_shedRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>The <c>error.type</c> of a one-region provider's integration found in several regions.</summary>
    private const string MultipleRegions = "multiple_regions";

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

    private async Task ToControlAsync(WebhookExchange exchange, RequestDelegate next)
    {
        Decided(exchange.Activity, exchange.Provider, RoutingModes.Control);
        await silos.ForwardAsync(exchange, RoutingModes.Control, "control", clusters.ById(exchange.Settings.ControlCluster), bounded: false, next);
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
        // The killswitch comes first: a shed webhook takes no rate-limit token and is never looked up, stored or sent.
        if (shed.Any && shed.Match(provider, intent.Target, intent.MailboxIntegrationId) is { } rule)
        {
            await ShedAsync(exchange, rule, target);
            return;
        }

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

        if (await ResolveAsync(exchange, intent.Target) is not { } resolution)
        {
            return;
        }

        // A rule by directory id, for a target the sender names by its own id: known once the directory answered.
        if (shed.Any && resolution.IntegrationId is { } integrationId && shed.Match(provider, intent.Target, integrationId) is { } byId)
        {
            await ShedAsync(exchange, byId, target);
            return;
        }

        if (intent.Organization is { } organization && resolution.Kind == ResolutionKind.Found)
        {
            // Only the named organization's region; a name the target does not have leaves every region in scope.
            resolution = resolution.NarrowTo(organization);
            activity?.SetTag(TelemetryAttributes.Organization, organization.ToString());
        }

        var plan = Plan(provider, intent, resolution);
        if (resolution.Kind != ResolutionKind.Found)
        {
            if (plan.Mode == RoutingModes.Control)
            {
                LogUnplacedToControl(logger, provider, target, resolution.Kind);
                await ToControlAsync(exchange, next);
                return;
            }

            await NoRegionAsync(exchange, plan);
            return;
        }

        activity?.SetTag(TelemetryAttributes.Regions, string.Join(',', resolution.Regions));
        if (plan.ConfigError is { } configError)
        {
            // The reference fails such a webhook with a 500; control can at least answer it.
            metrics.ConfigError(provider, configError);
            activity?.SetTag(TelemetryAttributes.ErrorType, configError);
            LogMultipleRegions(logger, provider, target, string.Join(',', resolution.Regions));
            await ToControlAsync(exchange, next);
            return;
        }

        if (intent.MailboxIntegrationId is { } named)
        {
            // The URL names the mailbox's integration: only one the directory knows may name a mailbox.
            if (await ResolveAsync(exchange, new RoutingTarget.IntegrationId(named)) is not { } integration)
            {
                return;
            }

            if (integration.Kind == ResolutionKind.UnknownTarget)
            {
                LogUnknownMailboxIntegration(logger, provider, named);
                await ToControlAsync(exchange, next);
                return;
            }
        }

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
            await DeliverAsync(exchange, intent, resolution, plan, next);
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

    /// <summary>
    /// How a resolved webhook is delivered, without sending anything: real dispatch carries the plan out and the dry run
    /// (<c>POST /admin/explain</c>) reports it, so the two cannot disagree.
    /// </summary>
    public DeliveryPlan Plan(string provider, RoutingIntent.ToRegions intent, RegionResolution resolution)
    {
        if (resolution.Kind != ResolutionKind.Found)
        {
            if (intent.ControlWhenUnplaced)
            {
                return new DeliveryPlan(RoutingModes.Control, [], []);
            }

            var unknown = resolution.Kind == ResolutionKind.UnknownTarget;
            var status = unknown ? intent.UnknownTargetStatus : intent.NoRegionStatus;
            return new DeliveryPlan(status is >= 200 and < 300 ? RoutingModes.NoRegion : RoutingModes.Reject, [], [])
            {
                Status = status,
                ProblemType = unknown ? ProblemTypes.UnknownIntegration : ProblemTypes.NoRegion,
                Detail = unknown ? $"no {provider} integration matches {intent.Target}" : $"no active organization is behind {intent.Target}",
            };
        }

        if (intent.OneRegionOnly && resolution.Regions.Count > 1)
        {
            return new DeliveryPlan(RoutingModes.Control, [], []) { ConfigError = MultipleRegions };
        }

        if (intent.Delivery == RegionDelivery.Mailbox)
        {
            // A region without a cluster is decided before anything is stored (an entry for it could never be delivered).
            var served = resolution.Regions.Where(r => clusters.ForRegion(r) is not null).ToArray();
            var skipped = resolution.Regions.Where(r => clusters.ForRegion(r) is null).ToArray();
            return new DeliveryPlan(served.Length == 0 ? RoutingModes.Control : RoutingModes.Mailbox, served, skipped);
        }

        if (intent.ResponseUrl is { } responseUrl && providers.CurrentValue.For(provider).AllowsResponseUrl(responseUrl))
        {
            return new DeliveryPlan(RoutingModes.Deferred,
                intent.Delivery == RegionDelivery.FirstRegion ? resolution.Regions.Take(1).ToArray() : resolution.Regions, [])
            {
                ResponseUrl = responseUrl,
            };
        }

        return intent.Delivery == RegionDelivery.FirstRegion
            ? new DeliveryPlan(RoutingModes.FirstRegion, [resolution.Regions[0]], [])
            : new DeliveryPlan(RoutingModes.AllRegions, resolution.Regions, []);
    }

    private async Task DeliverAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RegionResolution resolution, DeliveryPlan plan,
        RequestDelegate next)
    {
        var (provider, activity) = (exchange.Provider, exchange.Activity);
        switch (plan.Mode)
        {
            case RoutingModes.Mailbox or RoutingModes.Control:
                await ToMailboxAsync(exchange, intent, resolution, plan, next);
                return;
            case RoutingModes.Deferred:
                Decided(activity, provider, RoutingModes.Deferred);
                await DeferAsync(exchange, plan);
                return;
            case RoutingModes.FirstRegion:
                Decided(activity, provider, RoutingModes.FirstRegion);
                var first = plan.Regions[0];
                var answered = await silos.ForwardAsync(exchange, RoutingModes.FirstRegion, first, clusters.ForRegion(first), bounded: true, next,
                    answerFailure: !intent.ControlOnRegionFailure);
                if (!answered)
                {
                    LogRegionFailedToControl(logger, provider, first);
                    await ToControlAsync(exchange, next);
                }

                return;
            default:
                Decided(activity, provider, RoutingModes.AllRegions);
                await fanOut.ForwardAsync(exchange, plan.Regions);
                return;
        }
    }

    /// <summary>
    /// Stores the webhook for the regions a cluster serves. The regions without one are logged and counted; when no
    /// region of the webhook has a cluster, control answers it, as the reference does with a region it cannot resolve.
    /// </summary>
    private async Task ToMailboxAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RegionResolution resolution, DeliveryPlan plan,
        RequestDelegate next)
    {
        var (provider, activity) = (exchange.Provider, exchange.Activity);
        foreach (var region in plan.Skipped)
        {
            metrics.RegionFailure(provider, RoutingModes.Mailbox, region, ForwardingErrors.NotConfigured);
            LogRegionWithoutCluster(logger, provider, region);
        }

        if (plan.Mode == RoutingModes.Control)
        {
            LogMailboxToControl(logger, provider, string.Join(',', resolution.Regions));
            activity?.SetTag(TelemetryAttributes.ErrorType, ForwardingErrors.NotConfigured);
            await ToControlAsync(exchange, next);
            return;
        }

        Decided(activity, provider, RoutingModes.Mailbox);
        await mailbox.AcceptAsync(exchange, intent, plan.Skipped.Count == 0 ? resolution : resolution with { Regions = plan.Regions });
    }

    /// <summary>The regions behind <paramref name="target"/>, or null once the sender got a 503 (the directory could not answer).</summary>
    private async Task<RegionResolution?> ResolveAsync(WebhookExchange exchange, RoutingTarget target)
    {
        try
        {
            return await directory.ResolveAsync(target, exchange.Deadline);
        }
        catch (Exception ex) when (ex is DirectoryUnavailableException || (ex is OperationCanceledException && exchange.DeadlinePassed))
        {
            // Never guess: the sender retries, and nothing is cached as unknown.
            var errorType = ex is DirectoryUnavailableException unavailable ? unavailable.ErrorType : ForwardingErrors.Timeout;
            metrics.RegionFailure(exchange.Provider, RoutingModes.Directory, "control", errorType);
            exchange.Activity?.SetTag(TelemetryAttributes.ErrorType, errorType);
            LogDirectoryUnavailable(logger, exchange.Provider, target.ToString(), errorType);
            await ProblemResponse.WriteAsync(exchange.Context, 503, ProblemTypes.DirectoryUnavailable, ProblemResponse.TitleFor(503),
                $"the integration directory could not be read ({errorType}); retry later", retryAfter: s_directoryRetryAfter);
            return null;
        }
    }

    /// <summary>The shed valve's answer: 429 problem+json with <c>Retry-After: 60</c>, counted by provider and rule.</summary>
    private async Task ShedAsync(WebhookExchange exchange, ShedRule rule, string target)
    {
        var name = rule.ToString();
        metrics.Shed(exchange.Provider, name);
        exchange.Activity?.SetTag(TelemetryAttributes.ShedRule, name);
        Decided(exchange.Activity, exchange.Provider, RoutingModes.Shed);
        if (_rejections.TryEnter(out var suppressed))
        {
            LogShed(logger, exchange.Provider, target, name, suppressed);
        }

        await ProblemResponse.WriteAsync(exchange.Context, StatusCodes.Status429TooManyRequests, ProblemTypes.Shed,
            ProblemResponse.TitleFor(StatusCodes.Status429TooManyRequests),
            $"{exchange.Provider} webhooks for {target} are being shed (rule {name}); retry after 60 s", retryAfter: s_shedRetryAfter);
    }

    private Task NoRegionAsync(WebhookExchange exchange, DeliveryPlan plan)
    {
        if (plan.Mode == RoutingModes.NoRegion)
        {
            Decided(exchange.Activity, exchange.Provider, RoutingModes.NoRegion);
            exchange.Context.Response.StatusCode = plan.Status!.Value;
            return Task.CompletedTask;
        }

        return RejectAsync(exchange.Context, exchange.Provider, exchange.Activity, plan.Status!.Value, plan.ProblemType!, plan.Detail!);
    }

    /// <summary>Answers 200 now; the region answer goes to the response URL later.</summary>
    private async Task DeferAsync(WebhookExchange exchange, DeliveryPlan plan)
    {
        var legs = new List<DeferredLeg>();
        foreach (var region in plan.Regions)
        {
            if (!builder.TryPickRegion(region, exchange.Context, out var target, out var error))
            {
                metrics.RegionFailure(exchange.Provider, RoutingModes.Deferred, region, error);
                continue;
            }

            legs.Add(new DeferredLeg(target, await RegionRequestBuilder.BuildAsync(exchange.Context, exchange.Webhook, target, exchange.Transformer)));
        }

        deferred.Start(exchange.Provider, plan.ResponseUrl!, legs);
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

    [LoggerMessage(EventId = 406, Level = LogLevel.Error,
        Message = "A {Provider} integration ({Target}) has organizations in several regions ({Regions}): a configuration error; control answers its webhook")]
    private static partial void LogMultipleRegions(ILogger logger, string provider, string target, string regions);

    [LoggerMessage(EventId = 407, Level = LogLevel.Information,
        Message = "A {Provider} webhook for {Target} cannot be placed ({Kind}); control answers it")]
    private static partial void LogUnplacedToControl(ILogger logger, string provider, string target, ResolutionKind kind);

    [LoggerMessage(EventId = 413, Level = LogLevel.Information,
        Message = "A {Provider} webhook names integration {IntegrationId}, which the directory does not know; control answers it")]
    private static partial void LogUnknownMailboxIntegration(ILogger logger, string provider, long integrationId);

    [LoggerMessage(EventId = 408, Level = LogLevel.Warning,
        Message = "Region {Region} gave no answer to a {Provider} request; control answers it instead")]
    private static partial void LogRegionFailedToControl(ILogger logger, string provider, string region);

    [LoggerMessage(EventId = 409, Level = LogLevel.Information,
        Message = "Shed a {Provider} webhook for {Target} (rule {Rule}) ({Suppressed} similar lines left out before this one)")]
    private static partial void LogShed(ILogger logger, string provider, string target, string rule, long suppressed);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning,
        Message = "The directory could not resolve {Target} for a {Provider} webhook ({ErrorType}); answered 503")]
    private static partial void LogDirectoryUnavailable(ILogger logger, string provider, string target, string errorType);
}
