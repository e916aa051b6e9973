using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Proxy.Routing.Problems;
using Yarp.ReverseProxy.Forwarder;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// The first step of YARP's pipeline, on every proxied route (webhooks and plain routes alike): a sender's spoofable
/// headers are removed, a silo's answer passes as it is (status code pages stay out of it), and an error YARP writes
/// itself (no destination, a failed forward) becomes a problem+json answer.
/// </summary>
internal sealed class EdgeRequestMiddleware(RequestDelegate next, IOptionsMonitor<RoutingOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        HeaderPolicy.StripSpoofable(context.Request.Headers, options.CurrentValue.StripHeaderPrefixes);
        if (context.Features.Get<IStatusCodePagesFeature>() is { } statusPages)
        {
            statusPages.Enabled = false;
        }

        await next(context);

        if (!context.Response.HasStarted && context.Features.Get<IForwarderErrorFeature>() is { } error)
        {
            if (error.Error is ForwarderError.RequestBodyClient or ForwarderError.RequestBodyCanceled)
            {
                ProblemResponse.CloseConnectionAfter(context.Response);
            }

            var status = context.Response.StatusCode is >= 400 and var written ? written : StatusCodes.Status502BadGateway;
            await ProblemResponse.WriteAsync(context, status, ProblemTypes.ForStatus(status), ProblemResponse.TitleFor(status),
                $"the upstream could not be reached ({error.Error})");
        }
    }
}
