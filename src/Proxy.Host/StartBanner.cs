using System.Reflection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Proxy.Mailbox;
using Proxy.Routing;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Regions;
using Yarp.ReverseProxy;

namespace Proxy.Host;

/// <summary>
/// One block of log lines once the proxy listens: version, addresses, config folder, what was loaded, the directory
/// source, the mailbox store and its backlog, billing and telemetry, so an operator sees at once what is in use.
/// </summary>
internal sealed partial class StartBanner(
    IHostApplicationLifetime lifetime,
    IServer server,
    IConfiguration configuration,
    IProxyStateLookup state,
    RegionClusters regions,
    IOptions<DirectoryOptions> directoryOptions,
    IOptions<MailboxOptions> mailboxOptions,
    IServiceProvider services,
    ILogger<StartBanner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var version = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var addresses = string.Join(", ", server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
        var configDir = configuration[IntegrationRoutingExtensions.ConfigDirKey] ?? "config";
        var routes = state.GetRoutes().Count();
        var clusters = state.GetClusters().Count();
        var regionNames = regions.RegionNames() is { Count: > 0 } names ? string.Join(", ", names) : "none";
        var directory = Directory();
        var mailbox = await MailboxAsync(stoppingToken);
        var billing = configuration.GetValue("Billing:Enabled", false) ? "on" : "off";
        var otlp = Otlp(configuration);
        LogStarted(logger, version, addresses, configDir, routes, clusters, regionNames, directory, mailbox, billing, otlp);
    }

    private string Directory()
    {
        if (directoryOptions.Value.UsesControl)
        {
            return $"{DirectoryOptions.ControlSource} (the control silo's directory API, cached)";
        }

        var source = services.GetRequiredService<IIntegrationDirectorySource>();
        var path = source is DirectoryFileSource file ? file.Path : "embedded";
        return $"{DirectoryOptions.FileSource} {path}: {source.Current.IntegrationCount} integrations, {source.Current.OrganizationCount} organizations";
    }

    private async Task<string> MailboxAsync(CancellationToken cancellationToken)
    {
        var options = mailboxOptions.Value;
        var store = MailboxOptionsValidator.ResolveStore(options) == MailboxStoreKind.Redis
            ? "Redis"
            : $"SQLite {Path.GetFullPath(Path.Combine(options.DataDir, options.Sqlite.FileName))}";
        try
        {
            var stats = await services.GetRequiredService<IMailboxStore>().GetStatsAsync(cancellationToken);
            return $"{store}, {stats.Pending} pending, {stats.DeadLetters} dead letters";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return $"{store}, pending unknown (the store did not answer: {ex.GetType().Name})";
        }
    }

    /// <summary>The exporter's endpoint and protocol as the OpenTelemetry SDK reads them from the environment.</summary>
    internal static string Otlp(IConfiguration configuration)
    {
        var endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return "off (OTEL_EXPORTER_OTLP_ENDPOINT is not set)";
        }

        var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"];
        return $"{endpoint} ({(string.IsNullOrWhiteSpace(protocol) ? "grpc, the exporter's default" : protocol)})";
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = """
        edge-proxy {Version} started
          listening on: {Addresses}
          config folder: {ConfigDir}
          routes: {Routes}, clusters: {Clusters}, regions: {Regions}
          directory: {Directory}
          mailbox: {Mailbox}
          billing: {Billing}
          OTLP: {Otlp}
        """)]
    private static partial void LogStarted(ILogger logger, string version, string addresses, string configDir, int routes, int clusters,
        string regions, string directory, string mailbox, string billing, string otlp);
}
