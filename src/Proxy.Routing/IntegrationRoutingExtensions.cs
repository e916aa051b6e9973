using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Proxy.Routing.Configuration;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Duplicates;
using Proxy.Routing.Limits;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;
using Proxy.Routing.Regions;
using Proxy.Routing.Rules;
using Proxy.Routing.Signatures;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing;

public static class IntegrationRoutingExtensions
{
    /// <summary>Key of the folder holding <c>proxy.json</c> and <c>directory.json</c>.</summary>
    public const string ConfigDirKey = "ConfigDir";

    /// <summary>Key of the Redis connection string; empty means memory only.</summary>
    public const string RedisKey = "Redis:ConnectionString";

    /// <summary>
    /// Adds webhook routing to YARP: parsers, the region directory (file or control, cached in HybridCache with Redis as
    /// L2 when <c>Redis:ConnectionString</c> is set), the fan-out forwarder, signatures, telemetry and readiness.
    /// </summary>
    public static IReverseProxyBuilder AddIntegrationRouting(this IReverseProxyBuilder proxy, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(configuration);
        var services = proxy.Services;

        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddOptions<ProviderSecretsOptions>()
            .Configure(o => configuration.GetSection(ProviderSecretsOptions.Section).Bind(o.Providers));
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        // Ahead of the framework's default writer: the first writer that can write wins.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, EdgeProblemDetailsWriter>());
        services.AddProblemDetails();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Routing.MatcherPolicy, ReservedPathPolicy>());

        services.TryAddSingleton<IIntegrationDirectorySource>(sp =>
        {
            var path = Path.Combine(configuration[ConfigDirKey] ?? "config", "directory.json");
            return new DirectoryFileSource(path, new ConfigFileStatus(path), sp.GetRequiredService<TimeProvider>());
        });

        services.TryAddSingleton(sp =>
        {
            var path = Path.Combine(configuration[ConfigDirKey] ?? "config", ProviderRulesValidator.FileName);
            return new ProviderRulesSource(path, new ConfigFileStatus(path), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<IIntegrationParser>(sp => new SlackParser("slack", Rules(sp)));
        services.AddSingleton<IIntegrationParser>(sp => new SlackParser("slack_staging", Rules(sp)));
        services.AddSingleton<IIntegrationParser>(sp => new GitHubParser(Rules(sp)));
        services.AddSingleton<IIntegrationParser>(new DiscordParser());
        services.AddSingleton<IIntegrationParser>(new JiraParser());
        services.AddSingleton<IIntegrationParser>(sp => new GitHubEnterpriseParser(Rules(sp)));
        services.AddSingleton<IIntegrationParser>(new BitbucketParser("bitbucket"));
        services.AddSingleton<IIntegrationParser>(new BitbucketParser("bitbucket_server"));
        services.AddSingleton<IIntegrationParser>(new PluginParser());
        services.AddSingleton<IIntegrationParser>(sp => new GitLabParser(Rules(sp)));
        services.AddSingleton<IIntegrationParser>(new AzureDevOpsParser());
        services.AddSingleton<IIntegrationParser>(new MsTeamsParser());
        services.AddSingleton<IIntegrationParser>(new JiraServerParser());
        services.AddSingleton<IIntegrationParser>(new GiteaParser());
        services.AddSingleton<IIntegrationParser>(new ControlOnlyParser("vercel"));
        services.AddSingleton<IIntegrationParser>(new ControlOnlyParser("google"));
        services.AddSingleton<IWebhookSignatureVerifier, SlackSignatureVerifier>();
        services.AddSingleton<IWebhookSignatureVerifier, GitHubSignatureVerifier>();
        services.AddSingleton<IWebhookSignatureVerifier, DiscordSignatureVerifier>();
        services.AddSingleton<IWebhookSignatureVerifier, GiteaSignatureVerifier>();
        services.TryAddSingleton<ParserRegistry>();
        services.TryAddSingleton<SignatureRegistry>();
        services.TryAddSingleton<RoutingMetrics>();
        proxy.AddRegionRequests();
        if (!string.Equals(configuration[$"{DirectoryOptions.Section}:Source"], DirectoryOptions.ControlSource, StringComparison.OrdinalIgnoreCase))
        {
            services.AddHostedService<RegionCoverageReporter>();
        }

        services.TryAddSingleton<SiloForwarder>();
        services.TryAddSingleton<FanOut>();
        services.TryAddSingleton<DeferredAnswers>();
        services.TryAddSingleton<MailboxAccept>();
        services.AddOptions<DuplicateOptions>().Bind(configuration.GetSection(DuplicateOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DuplicateOptions>, DuplicateOptionsValidator>();
        services.TryAddSingleton(CreateDeliveryIdStore);
        services.TryAddSingleton<DuplicateSuppression>();
        services.AddEdgeRateLimits(configuration);
        services.TryAddSingleton<RoutingDecider>();
        services.TryAddSingleton<Admin.RouteExplainer>();
        services.TryAddSingleton<WebhookDispatcher>();
        services.TryAddSingleton<BackgroundSends>();
        services.AddHostedService(sp => sp.GetRequiredService<BackgroundSends>());
        proxy.AddTransforms<AnsweredByTransform>();
        // Posts answers to provider response URLs: never follows a redirect to an address nobody allowed.
        services.AddHttpClient(DeferredAnswers.ResponseUrlClient, client => client.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.AddHostedService<ConfigReloadReporter>();
        services.AddSingleton<Yarp.ReverseProxy.Configuration.IConfigChangeListener, ConfigApplyListener>();
        services.AddSingleton<IConfigFileCheck, RoutesConfigCheck>();
        services.AddSingleton<IConfigFileCheck, ShedRulesConfigCheck>();
        services.TryAddSingleton<ProxyConfigCheck>();

        services.AddRegionDirectory(configuration);
        services.AddHealthChecks().AddCheck<RoutingReadinessCheck>("routing", tags: [RoutingReadinessCheck.ReadyTag]);
        return proxy;
    }

    /// <summary>What a parser reads the provider rules through: the table in force at each call (hot reloaded).</summary>
    private static Func<ProviderRules> Rules(IServiceProvider services)
    {
        var source = services.GetRequiredService<ProviderRulesSource>();
        return () => source.Current;
    }

    /// <summary>
    /// Delivery ids live in the routing's Redis when <c>Redis:ConnectionString</c> is set, else in the embedded store the
    /// mailbox registers (its SQLite folder), else in bounded process memory.
    /// </summary>
    private static IDeliveryIdStore CreateDeliveryIdStore(IServiceProvider services)
    {
        if (services.GetService<Regions.Caching.SharedRedisConnection>() is { } redis)
        {
            return new RedisDeliveryIdStore(redis, services.GetRequiredService<Regions.Caching.RedisBreaker>());
        }

        return services.GetKeyedService<IDeliveryIdStore>(DuplicateSuppression.EmbeddedStoreKey)
            ?? new MemoryDeliveryIdStore(services.GetRequiredService<IOptions<DuplicateOptions>>().Value.MemoryCapacity,
                services.GetRequiredService<TimeProvider>());
    }

    /// <summary>
    /// Region clusters (clusters whose metadata names a region), <see cref="RegionRequestBuilder"/>, which every send
    /// outside YARP's forwarder uses, and the edge signature (<c>Signing:Keys</c>) on every request to a silo. <see cref="AddIntegrationRouting"/> includes it.
    /// </summary>
    public static IReverseProxyBuilder AddRegionRequests(this IReverseProxyBuilder proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        if (proxy.Services.Any(d => d.ServiceType == typeof(RegionRequestBuilder)))
        {
            return proxy;
        }

        proxy.Services.AddOptions<EdgeSigningOptions>().BindConfiguration(EdgeSigningOptions.Section).ValidateOnStart();
        proxy.Services.AddSingleton<IValidateOptions<EdgeSigningOptions>, EdgeSigningOptionsValidator>();
        proxy.Services.TryAddSingleton(TimeProvider.System);
        proxy.Services.AddSingleton<EdgeRequestSigner>();
        proxy.AddTransforms<EdgeSignatureTransform>();
        proxy.Services.AddSingleton<RegionClusters>();
        // The constructor is internal (its signer is), which DI's activator does not see.
        proxy.Services.AddSingleton(sp => new RegionRequestBuilder(sp.GetRequiredService<RegionClusters>(),
            sp.GetServices<Yarp.ReverseProxy.LoadBalancing.ILoadBalancingPolicy>(), sp.GetRequiredService<EdgeRequestSigner>()));
        proxy.Services.AddSingleton<Yarp.ReverseProxy.Configuration.IConfigChangeListener>(sp => sp.GetRequiredService<RegionClusters>());
        return proxy;
    }

    /// <summary>Adds the routing step to the proxy pipeline; put it before load balancing.</summary>
    public static IApplicationBuilder UseIntegrationRouting(this IApplicationBuilder proxyPipeline)
        => proxyPipeline.UseMiddleware<EdgeRequestMiddleware>().UseMiddleware<IntegrationRoutingMiddleware>();
}

/// <summary>
/// Attaches loggers and metrics to the hot-reloaded files once the host is built. The host registers the status of
/// each config file it added (<see cref="ConfigFileStatus"/>); the directory's own status comes from its source.
/// </summary>
internal sealed class ConfigReloadReporter(
    IServiceProvider services,
    IOptions<DirectoryOptions> directoryOptions,
    IEnumerable<ConfigFileStatus> files,
    RoutingMetrics metrics,
    Microsoft.Extensions.Logging.ILoggerFactory loggers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("Proxy.Routing.Config");
        var statuses = files.ToList();
        // With the control source no directory file is read, so none is required.
        if (!directoryOptions.Value.UsesControl && services.GetRequiredService<IIntegrationDirectorySource>() is DirectoryFileSource file)
        {
            statuses.Add(file.Status);
        }

        statuses.Add(services.GetRequiredService<ProviderRulesSource>().Status);
        foreach (var status in statuses.Distinct())
        {
            status.AttachLogger(logger);
            var name = Path.GetFileName(status.Path);
            status.Changed += accepted => metrics.ConfigReload(name, accepted);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
