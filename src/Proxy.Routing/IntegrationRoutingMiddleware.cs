using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Signatures;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing;

/// <summary>
/// The routing step of the YARP pipeline, for routes whose metadata has <c>"IntegrationRouting": "true"</c>:
/// gate -> read the webhook once -> let the provider's parser decide -> dispatch (resolve regions, send).
/// </summary>
internal sealed class IntegrationRoutingMiddleware(
    RequestDelegate next,
    ParserRegistry parsers,
    SignatureRegistry signatures,
    WebhookDispatcher dispatcher,
    IOptionsMonitor<RoutingOptions> options,
    TimeProvider time)
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
        await dispatcher.DispatchAsync(exchange, Decide(provider, webhook), next);
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

        RoutingIntent intent;
        try
        {
            intent = parser.Parse(webhook);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            // System.Text.Json refuses to hand out a string holding a lone surrogate or invalid UTF-8: that is the
            // sender's malformed body, never the proxy's failure.
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, $"the {provider} payload holds a value that cannot be read as text");
        }

        // Only control serves every method; what goes to regions or is answered here takes the provider's method.
        var methods = intent switch
        {
            RoutingIntent.ToRegions regions => regions.Methods,
            RoutingIntent.Respond => "POST",
            _ => null,
        };
        return methods is null || AllowsMethod(methods, webhook.Method) ? intent
            : new RoutingIntent.Reject(405, ProblemTypes.MethodNotAllowed, $"this {provider} endpoint takes {methods}, not {Printable(webhook.Method)}")
            {
                Allow = methods,
            };
    }

    private static bool AllowsMethod(string methods, string method)
    {
        foreach (var range in methods.AsSpan().Split(','))
        {
            if (methods.AsSpan(range).Trim().Equals(method, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string Printable(string method) => method.Length <= 16 ? method : string.Concat(method.AsSpan(0, 16), "...");
}
