using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Proxy.Routing.Configuration;
using Proxy.Routing.Telemetry;

namespace Proxy.Host;

internal static class HostingExtensions
{
    /// <summary>
    /// Where appsettings.json and config/ live: the current directory when it has them (a checkout), else the folder of
    /// the binary (a published build or a container image).
    /// </summary>
    public static string ContentRoot()
    {
        var current = Directory.GetCurrentDirectory();
        return File.Exists(Path.Combine(current, "appsettings.json")) ? current : AppContext.BaseDirectory;
    }

    /// <summary>
    /// Host settings (appsettings.json) are read at start; the stock host would also watch the file, with an inotify
    /// instance per host (the demo has four), and a machine out of instances (128 per user by default) then cannot
    /// start the proxy at all. The config folder is polled instead (<c>WatchedFile</c>).
    /// </summary>
    public const string NoSettingsWatch = "--hostBuilder:reloadConfigOnChange=false";

    /// <summary>Where the proxy listens when nothing says otherwise: port 8080 on every interface.</summary>
    public const string DefaultUrls = "http://0.0.0.0:8080";

    /// <summary>
    /// The public listen addresses: <c>urls</c> as ASP.NET Core reads it (<c>--urls</c>, <c>URLS</c> or
    /// <c>ASPNETCORE_URLS</c>), else <c>HTTP_PORTS</c> / <c>HTTPS_PORTS</c>, else <see cref="DefaultUrls"/>. The default is
    /// applied here rather than in appsettings.json, where it would override the environment.
    /// </summary>
    public static void UseDefaultUrls(this ConfigureWebHostBuilder webHost, IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration["urls"]) && string.IsNullOrWhiteSpace(configuration["http_ports"])
            && string.IsNullOrWhiteSpace(configuration["https_ports"]))
        {
            webHost.UseUrls(DefaultUrls);
        }
    }

    /// <summary>
    /// A relative <c>Mailbox:DataDir</c> is resolved against the content root, like the config folder: the mailbox lands
    /// in the checkout's (or the published folder's) <c>data/</c> whichever directory the process was started from.
    /// </summary>
    public static void ResolveDataDir(this IConfigurationManager configuration, string contentRoot)
    {
        const string key = "Mailbox:DataDir";
        var dir = configuration[key];
        dir = string.IsNullOrWhiteSpace(dir) ? "data" : dir;
        if (!Path.IsPathRooted(dir))
        {
            configuration[key] = Path.GetFullPath(Path.Combine(contentRoot, dir));
        }
    }

    /// <summary>
    /// <c>HostOptions:ShutdownTimeout</c> (and the other <c>HostOptions</c> properties) from configuration; the host
    /// itself only reads the flat <c>shutdownTimeoutSeconds</c>, which still works when the section is absent.
    /// </summary>
    public static IServiceCollection AddHostOptions(this IServiceCollection services, IConfiguration configuration)
        => services.Configure<HostOptions>(configuration.GetSection("HostOptions"));

    /// <summary>The routes file (<c>{ConfigDir}/proxy.json</c>): hot reloaded, a broken edit is rejected and logged.</summary>
    public static ConfigFileStatus AddRoutesFile(this IConfigurationManager configuration, string contentRoot)
    {
        var configDir = ResolveConfigDir(configuration, contentRoot);
        configuration[Proxy.Routing.IntegrationRoutingExtensions.ConfigDirKey] = configDir;
        var path = Path.Combine(configDir, "proxy.json");
        var status = new ConfigFileStatus(path) { AppliedByProxy = true };
        configuration.Add(new LastGoodJsonConfigurationSource(path, status));
        return status;
    }

    public static string ResolveConfigDir(IConfiguration configuration, string contentRoot)
    {
        var configured = configuration[Proxy.Routing.IntegrationRoutingExtensions.ConfigDirKey];
        var dir = string.IsNullOrWhiteSpace(configured) ? "config" : configured;
        return Path.GetFullPath(Path.IsPathRooted(dir) ? dir : Path.Combine(contentRoot, dir));
    }

    /// <summary>
    /// Traces, metrics and logs over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (<see cref="OtlpExport"/>);
    /// otherwise no listener is attached and instrumentation costs nothing. Our meters are created through IMeterFactory
    /// either way.
    /// </summary>
    public static IServiceCollection AddProxyTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        if (OtlpExport.From(configuration) is not { } export)
        {
            return services;
        }

        services.AddSingleton(export);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? serviceName));
        if (export.Traces)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(RoutingActivity.SourceName, RoutingActivity.YarpSourceName, TelemetryNames.MailboxSource, TelemetryNames.BillingSource)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(otlp => export.Configure(otlp, OtlpSignal.Traces)));
        }

        if (export.Metrics)
        {
            telemetry.WithMetrics(metrics => metrics
                .AddMeter(RoutingMetrics.MeterName, TelemetryNames.MailboxMeter, TelemetryNames.BillingMeter)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddOtlpExporter(otlp => export.Configure(otlp, OtlpSignal.Metrics)));
        }

        if (export.Logs)
        {
            telemetry.WithLogging(logging => logging.AddOtlpExporter(otlp => export.Configure(otlp, OtlpSignal.Logs)));
        }

        return services;
    }
}

/// <summary>Names of the other components' sources and meters (wildcards keep the host independent of their types).</summary>
internal static class TelemetryNames
{
    public const string MailboxSource = "EdgeProxy.Mailbox*";
    public const string MailboxMeter = "EdgeProxy.Mailbox*";
    public const string BillingSource = "EdgeProxy.Billing*";
    public const string BillingMeter = "EdgeProxy.Billing*";
}
