using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing.Limits;

/// <summary>Registers the edge's rate limits and answers what they refuse with 429 problem+json and <c>Retry-After</c>.</summary>
public static partial class RateLimitingSetup
{
    internal static void AddEdgeRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        services.AddSingleton<EdgeRateLimits>();
        // Read from the whole configuration, not through IOptionsMonitor: a bad edit must keep the last good rules.
        services.AddSingleton<ShedValve>();
        services.AddHostedService(sp => sp.GetRequiredService<ShedValve>());
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<EdgeRateLimits, RoutingMetrics, ILoggerFactory, TimeProvider>(
            (options, limits, metrics, loggers, time) =>
            {
                var logger = loggers.CreateLogger("Proxy.Routing.RateLimits");
                var throttle = new LogThrottle(time);
                options.GlobalLimiter = limits.ClientIp;
                options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                options.OnRejected = (rejected, _) =>
                {
                    var context = rejected.HttpContext;
                    var provider = WebhookPath.ProviderOf(context.Request.Path) ?? "none";
                    metrics.RateLimited("client_ip", provider);
                    if (logger.IsEnabled(LogLevel.Information) && throttle.TryEnter(out var suppressed))
                    {
                        var client = limits.ClientAddressOf(context);
                        LogClientLimited(logger, client, suppressed);
                    }

                    var wait = EdgeRateLimits.RetryAfter(rejected.Lease);
                    return new ValueTask(ProblemResponse.WriteAsync(context, 429, ProblemTypes.RateLimited, ProblemResponse.TitleFor(429),
                        $"too many requests from this address; retry after {Math.Ceiling(wait.TotalSeconds):0} s", retryAfter: wait));
                };
            });
    }

    /// <summary>The per-client-address limit; put it before routing reads any body.</summary>
    public static IApplicationBuilder UseEdgeRateLimits(this IApplicationBuilder app) => app.UseRateLimiter();

    [LoggerMessage(EventId = 420, Level = LogLevel.Information,
        Message = "Rate limited requests from {Client} ({Suppressed} similar lines left out before this one)")]
    private static partial void LogClientLimited(ILogger logger, string client, long suppressed);
}
