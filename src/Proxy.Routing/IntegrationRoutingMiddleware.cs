using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing;

/// <summary>
/// The routing step of the YARP pipeline, for routes whose metadata has <c>"IntegrationRouting": "true"</c>:
/// gate -> read the webhook once -> let the provider's parser decide -> dispatch (resolve regions, send).
/// </summary>
internal sealed class IntegrationRoutingMiddleware(
    RequestDelegate next,
    RoutingDecider decider,
    WebhookDispatcher dispatcher,
    IOptionsMonitor<RoutingOptions> options)
{
    public const string RouteMetadataKey = "IntegrationRouting";

    public async Task InvokeAsync(HttpContext context)
    {
        var metadata = context.GetRouteModel().Config.Metadata;
        if (metadata is null || !metadata.TryGetValue(RouteMetadataKey, out var enabled)
            || !string.Equals(enabled, "true", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        var settings = options.CurrentValue;
        var provider = WebhookPath.ProviderOf(context.Request.Path) ?? "unknown";
        using var activity = RoutingActivity.Source.StartActivity(RoutingActivity.RouteSpanName);
        activity?.SetTag(TelemetryAttributes.Provider, provider);

        // One deadline from arrival bounds resolution and region calls; the body read has its own timer.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(settings.SyncDeadline);
        var read = await WebhookRequestReader.ReadAsync(context, settings.MaxBodyBytes, settings.BodyReadTimeout);
        if (read.Request is not { } webhook)
        {
            // The rest of a body that could not be read is not drained (Kestrel would log its failure as an error for
            // every broken body a sender sends): this connection ends with the answer.
            ProblemResponse.CloseConnectionAfter(context.Response);
            await dispatcher.RejectAsync(context, provider, activity, read.Status, read.ProblemType!, read.Detail!);
            return;
        }

        // YARP streams Request.Body to the destination: hand it the bytes we already read.
        if (MemoryMarshal.TryGetArray(webhook.Body, out var segment))
        {
            context.Request.Body = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
        }

        context.Features.Set(new BufferedRequestBody(webhook.Body));

        var exchange = new WebhookExchange(context, webhook, provider, settings, activity, deadline.Token);
        await dispatcher.DispatchAsync(exchange, decider.Decide(provider, webhook), next);
    }
}
