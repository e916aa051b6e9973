using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;
using Proxy.Routing.Regions;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// The mailbox mode: the webhook, as the route's transforms would send it, is stored once per region and answered
/// 202 only after the store said it is durable; a store failure is a 503 with <c>Retry-After</c>, never a 202.
/// </summary>
internal sealed partial class MailboxAccept(IServiceProvider services, ILogger<MailboxAccept> logger)
{
    private const string MailboxUnavailable = "mailbox_unavailable";

    private static readonly TimeSpan s_retryAfter = TimeSpan.FromSeconds(30);

    public async Task AcceptAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent, RegionResolution resolution)
    {
        var context = exchange.Context;
        var mailbox = services.GetService<IWebhookMailbox>();
        if (mailbox is null || Identifier(intent, resolution) is not { } identifier)
        {
            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.ServiceUnavailable, ProblemResponse.TitleFor(503),
                "the webhook mailbox is not configured");
            return;
        }

        // The entries remember this span: each later delivery attempt (mailbox.deliver) links to it.
        using var activity = StartAcceptSpan(exchange.Provider, resolution.Regions);
        try
        {
            var request = await RegionRequestBuilder.CaptureAsync(context, exchange.Webhook, exchange.Transformer);
            var name = await mailbox.AcceptAsync(request, exchange.Webhook.Body, exchange.Provider, identifier, intent.MailboxBucketId,
                resolution.Regions, context.RequestAborted);
            activity?.SetTag(TelemetryAttributes.MessagingDestinationName, name);
            exchange.Activity?.SetTag(TelemetryAttributes.MessagingDestinationName, name);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            // Never acknowledge what was not stored: a 503 makes the sender retry.
            LogMailboxFailed(logger, exchange.Provider, ex);
            RoutingActivity.Answered(activity, null, MailboxUnavailable);
            exchange.Activity?.SetTag(TelemetryAttributes.ErrorType, MailboxUnavailable);
            exchange.Activity?.SetStatus(ActivityStatusCode.Error, MailboxUnavailable);
            await ProblemResponse.WriteAsync(context, 503, ProblemTypes.ServiceUnavailable, ProblemResponse.TitleFor(503),
                "the webhook could not be stored; retry later", retryAfter: s_retryAfter);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    /// <summary>
    /// The mailbox identifier after the provider: the integration (or organization) id, then the intent's suffix. The
    /// mailbox is <c>provider:identifier</c>, with <c>:bucket</c> while a busy integration is bucketed.
    /// </summary>
    public static string? Identifier(RoutingIntent.ToRegions intent, RegionResolution resolution)
    {
        ArgumentNullException.ThrowIfNull(intent);
        ArgumentNullException.ThrowIfNull(resolution);
        var owner = intent.MailboxIntegrationId
            ?? (intent.Target is RoutingTarget.Organization organization ? organization.Id : resolution.IntegrationId);
        if (owner is null)
        {
            return null;
        }

        var id = owner.Value.ToString(CultureInfo.InvariantCulture);
        return intent.MailboxSuffix is null ? id : $"{id}:{intent.MailboxSuffix}";
    }

    private static Activity? StartAcceptSpan(string provider, IReadOnlyList<string> regions)
    {
        var activity = RoutingActivity.Source.StartActivity(RoutingActivity.MailboxAcceptSpanName, ActivityKind.Producer);
        activity?.SetTag(TelemetryAttributes.MessagingSystem, TelemetryAttributes.MailboxSystem);
        activity?.SetTag(TelemetryAttributes.MessagingOperationType, "send");
        activity?.SetTag(TelemetryAttributes.MessagingOperationName, "accept");
        activity?.SetTag(TelemetryAttributes.MessagingBatchMessageCount, regions.Count);
        activity?.SetTag(TelemetryAttributes.Provider, provider);
        activity?.SetTag(TelemetryAttributes.Regions, string.Join(',', regions));
        return activity;
    }

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Could not store a {Provider} webhook in the mailbox")]
    private static partial void LogMailboxFailed(ILogger logger, string provider, Exception exception);
}
