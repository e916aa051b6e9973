using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Names the silo that answered (<c>Routing:AnsweredByHeader</c>, default <c>X-Proxy-Region</c>): the region of the
/// cluster the answer came from, or <c>control</c>. A response transform runs only on a silo's own answer, so a problem
/// answer written by the proxy never carries the header. Fan-out names its winning region itself.
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
            var settings = options.CurrentValue;
            if (transform.ProxyResponse is not null && !string.IsNullOrEmpty(settings.AnsweredByHeader)
                && transform.HttpContext.GetReverseProxyFeature()?.Cluster?.Config is { } cluster)
            {
                var silo = cluster.Metadata?.GetValueOrDefault(RegionClusters.RegionMetadataKey)
                    ?? (string.Equals(cluster.ClusterId, settings.ControlCluster, StringComparison.Ordinal) ? "control" : null);
                if (silo is not null)
                {
                    transform.HttpContext.Response.Headers[settings.AnsweredByHeader] = silo;
                }
            }

            return default;
        });
    }
}
