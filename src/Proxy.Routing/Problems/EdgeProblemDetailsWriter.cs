using Microsoft.AspNetCore.Http;

namespace Proxy.Routing.Problems;

/// <summary>
/// ASP.NET Core's problem details service writes through this, so the answers the framework decides (status code
/// pages: routing's 404 and 405, YARP's 503 for a route without a cluster) have the same shape and types as the proxy's own.
/// </summary>
internal sealed class EdgeProblemDetailsWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        var status = problem.Status ?? http.Response.StatusCode;
        var type = problem.Type is { } given && given.StartsWith(ProblemTypes.Prefix, StringComparison.Ordinal) ? given : ProblemTypes.ForStatus(status);
        return new ValueTask(ProblemResponse.WriteAsync(http, status, type, ProblemResponse.TitleFor(status),
            problem.Detail ?? ProblemResponse.DetailFor(http, status)));
    }
}
