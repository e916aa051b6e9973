using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;
using Yarp.ReverseProxy.Model;

namespace Proxy.Routing;

/// <summary>
/// The proxy's own paths (<c>/healthz</c>, <c>/readyz</c>, <c>/admin/…</c>) are never a YARP route's, whatever the routes
/// file says: a catch-all route (<c>{**catch-all}</c> to control) would otherwise take every method a health or admin
/// endpoint does not map, and every admin path nobody mapped. Such a request is the proxy's 404 or the endpoint's own
/// answer, never the control silo's.
/// </summary>
internal sealed class ReservedPathPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    private static readonly PathString[] s_reserved = [new("/healthz"), new("/readyz"), new("/admin")];

    // After the framework's own policies: only the candidates they left are looked at.
    public override int Order => 10_000;

    public static bool IsReserved(PathString path)
        => s_reserved.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.Any(e => e.Metadata.GetMetadata<RouteModel>() is not null);
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(candidates);
        if (!IsReserved(httpContext.Request.Path))
        {
            return Task.CompletedTask;
        }

        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates[i].Endpoint.Metadata.GetMetadata<RouteModel>() is not null)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
