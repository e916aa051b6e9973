using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Names the silo that answered (<c>Routing:AnsweredByHeader</c>, default <c>X-Proxy-Region</c>). A response transform
/// runs only on a silo's own answer, so a problem answer written by the proxy never carries the header.
/// </summary>
internal sealed class AnsweredByTransform : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var options = context.Services.GetRequiredService<IOptionsMonitor<RoutingOptions>>();
        context.AddResponseTransform(transform =>
        {
            var header = options.CurrentValue.AnsweredByHeader;
            if (transform.ProxyResponse is not null && !string.IsNullOrEmpty(header)
                && transform.HttpContext.Features.Get<WebhookExchange>()?.AnsweredBy is { } silo)
            {
                transform.HttpContext.Response.Headers[header] = silo;
            }

            return default;
        });
    }
}
