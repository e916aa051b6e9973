using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Proxy.Billing;
using Proxy.Host.Demo;
using Proxy.Mailbox;
using Proxy.Routing;
using Proxy.Routing.Admin;
using Proxy.Routing.Configuration;
using Proxy.Routing.Limits;
using Proxy.Routing.Problems;

namespace Proxy.Host;

/// <summary>Builds the edge proxy web application; tests build it the same way on 127.0.0.1:0.</summary>
public static class ProxyApplication
{
    public static WebApplication Build(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var demo = args.Contains("--demo");
        var contentRoot = HostingExtensions.ContentRoot();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [.. args.Where(a => a != "--demo"), HostingExtensions.NoSettingsWatch],
            ContentRootPath = contentRoot,
        });
        if (demo)
        {
            DemoSilos.ApplyDefaults(builder.Configuration, args);
        }

        builder.WebHost.UseDefaultUrls(builder.Configuration);
        builder.Configuration.ResolveDataDir(contentRoot);
        var routesFile = builder.Configuration.AddRoutesFile(contentRoot);
        builder.Services.AddSingleton(routesFile);

        // Admin on its own listener: Kestrel listens on the public URLs and the admin ones; a middleware keeps them apart.
        var adminUrls = AdminListener.Urls(builder.Configuration);
        if (adminUrls.Count > 0)
        {
            var publicUrls = builder.Configuration["urls"] ?? HostingExtensions.DefaultUrls;
            builder.WebHost.UseUrls([.. publicUrls.Split(';', StringSplitOptions.RemoveEmptyEntries), .. adminUrls]);
        }

        var limits = builder.Configuration.GetSection(KestrelLimitsOptions.Section).Get<KestrelLimitsOptions>() ?? new();
        limits.ThrowIfInvalid();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalSize;
            kestrel.Limits.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
            kestrel.Limits.MaxRequestLineSize = limits.MaxRequestLineSize;
            kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodySize;
            kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        });

        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddIntegrationRouting(builder.Configuration);
        builder.Services.AddWebhookMailbox(builder.Configuration);
        builder.Services.AddBillingConsumer(builder.Configuration);
        builder.Services.AddProxyTelemetry(builder.Configuration, "edge-proxy");
        builder.Services.AddHostOptions(builder.Configuration);
        if (demo)
        {
            builder.Services.AddHostedService<DemoSilos>();
        }

        builder.Services.AddHostedService<StartBanner>();

        var app = builder.Build();
        // Before YARP's first load (MapReverseProxy): a routes file that cannot go live stops the start, one line per problem.
        app.Services.GetRequiredService<ProxyConfigCheck>().Guard(routesFile);
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = context => ProblemResponse.WriteAsync(context, 500, ProblemTypes.InternalError,
                ProblemResponse.TitleFor(500), "the proxy failed to handle this request; it has been logged"),
        });
        // Routing's 404 and 405, and YARP's 503 for a route without a cluster, through the problem details service.
        app.UseStatusCodePages();
        app.UseAdminListener(app.Configuration);
        // Per client address, before anything is read; the per-integration limit follows the parser (RateLimits).
        app.UseEdgeRateLimits();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        // Degraded (Redis away: routing goes on from memory and control) is still ready.
        app.MapHealthChecks("/readyz", Readiness("ready", degradedIsReady: true));
        // The billing consumer alone: 503 when it cannot consume (in /readyz it is only Degraded, see docs/BILLING.md).
        app.MapHealthChecks("/readyz/billing", Readiness("billing", degradedIsReady: false));
        app.MapMailboxAdmin();
        app.MapDirectoryAdmin();
        app.MapOperatorEndpoints();
        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseIntegrationRouting();
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }

    private static HealthCheckOptions Readiness(string tag, bool degradedIsReady) => new()
    {
        Predicate = check => check.Tags.Contains(tag),
        ResponseWriter = WriteHealthAsync,
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = degradedIsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
    };

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                data = e.Value.Data.ToDictionary(d => d.Key, d => d.Value.ToString()),
            }),
        });
    }
}

/// <summary>Kestrel limits at the edge, section <c>Limits</c>.</summary>
internal sealed class KestrelLimitsOptions
{
    public const string Section = "Limits";

    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    public int MaxRequestHeaderCount { get; set; } = 100;

    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>Largest body on any route (webhook routes are capped lower by Routing:MaxBodyBytes).</summary>
    public long? MaxRequestBodySize { get; set; } = 30_000_000;

    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Kestrel's own checks name its properties; these name the setting a person edits.</summary>
    public void ThrowIfInvalid()
    {
        var errors = new List<string>();
        if (MaxRequestHeadersTotalSize < 1024)
        {
            errors.Add($"{Section}:MaxRequestHeadersTotalSize must be at least 1024 bytes (was {MaxRequestHeadersTotalSize}).");
        }

        if (MaxRequestHeaderCount < 1)
        {
            errors.Add($"{Section}:MaxRequestHeaderCount must be positive (was {MaxRequestHeaderCount}).");
        }

        if (MaxRequestLineSize < 256)
        {
            errors.Add($"{Section}:MaxRequestLineSize must be at least 256 bytes (was {MaxRequestLineSize}).");
        }

        if (MaxRequestBodySize is < 0)
        {
            errors.Add($"{Section}:MaxRequestBodySize must not be negative (was {MaxRequestBodySize}).");
        }

        if (RequestHeadersTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:RequestHeadersTimeout must be a positive duration (was {RequestHeadersTimeout}).");
        }

        if (errors.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Section, typeof(KestrelLimitsOptions), errors);
        }
    }
}
