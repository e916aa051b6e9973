using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Redis;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Duplicates;
using StackExchange.Redis;

namespace Proxy.Mailbox;

public static class MailboxServiceCollectionExtensions
{
    /// <summary>
    /// Registers the mailbox from the "Mailbox" section: options (validated at start), the store (Redis when
    /// <c>Mailbox:Redis:ConnectionString</c> or else <c>Redis:ConnectionString</c> is set, SQLite otherwise; <c>Mailbox:Store</c>
    /// can force one), <see cref="IMailboxSignal"/>, <see cref="IMailboxNamer"/>, routing's <see cref="IWebhookMailbox"/>,
    /// <see cref="IMailboxDelivery"/> through the region clusters (needs <c>AddIntegrationRouting</c>), the drainer (unless
    /// <c>Mailbox:DrainerEnabled</c> is false) and the metrics. Registrations made before this call for the delivery or the
    /// time provider win.
    /// </summary>
    public static IServiceCollection AddWebhookMailbox(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(MailboxOptions.SectionName);
        services.AddOptions<MailboxOptions>()
            .Bind(section)
            .PostConfigure(options =>
            {
                if (string.IsNullOrWhiteSpace(options.Redis.ConnectionString))
                {
                    options.Redis.ConnectionString = configuration["Redis:ConnectionString"] ?? "";
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MailboxOptions>, MailboxOptionsValidator>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MailboxMetrics>();
        services.TryAddSingleton<MailboxSignal>();
        services.TryAddSingleton<MailboxOrdering>();
        services.TryAddSingleton<IMailboxSignal>(sp => sp.GetRequiredService<MailboxSignal>());
        services.TryAddSingleton<RedisConnections>();
        services.TryAddSingleton<MailboxRedisConnection>();
        services.TryAddSingleton(sp => new RedisEvictionGate(
            open: MailboxOptionsValidator.ResolveStore(sp.GetRequiredService<IOptions<MailboxOptions>>().Value) != MailboxStoreKind.Redis));
        services.TryAddSingleton<IMailboxStore>(CreateStore);
        services.TryAddSingleton<IWebhookRateCounter>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<MailboxOptions>>().Value;
            return MailboxOptionsValidator.ResolveStore(options) == MailboxStoreKind.Redis
                ? new RedisWebhookRateCounter(sp.GetRequiredService<MailboxRedisConnection>().Multiplexer, options.Redis.KeyPrefix)
                : new MemoryWebhookRateCounter();
        });
        // The embedded store of delivery ids, used by duplicate suppression when the routing has no Redis.
        services.TryAddKeyedSingleton<IDeliveryIdStore>(DuplicateSuppression.EmbeddedStoreKey, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptions<MailboxOptions>>().Value;
            return MailboxOptionsValidator.ResolveStore(options) == MailboxStoreKind.Sqlite
                ? new SqliteDeliveryIdStore(Path.Combine(options.DataDir, SqliteDeliveryIdStore.FileName), sp.GetRequiredService<TimeProvider>())
                : null!;
        });
        services.TryAddSingleton<IMailboxNamer, MailboxNamer>();
        services.TryAddSingleton<IMailboxDelivery, HttpMailboxDelivery>();
        services.TryAddSingleton<IWebhookMailbox, WebhookMailbox>();
        // Before the drainer and the sampler: a Redis that may evict stored webhooks stops the host first (or, when it
        // is not reachable at start, keeps the mailbox closed until it was checked).
        services.AddHostedService<RedisEvictionPolicyCheck>();
        services.AddHostedService<MailboxGaugeSampler>();
        // Tagged "ready": the host's /readyz includes it.
        services.AddHealthChecks().AddCheck<MailboxReadinessCheck>("mailbox", tags: ["ready"]);
        if (section.GetValue(nameof(MailboxOptions.DrainerEnabled), true))
        {
            services.TryAddSingleton<MailboxDrainer>();
            services.AddHostedService(sp => sp.GetRequiredService<MailboxDrainer>());
        }

        return services;
    }

    private static IMailboxStore CreateStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<MailboxOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var metrics = services.GetRequiredService<MailboxMetrics>();
        var ordering = services.GetRequiredService<MailboxOrdering>();
        if (MailboxOptionsValidator.ResolveStore(options) == MailboxStoreKind.Redis)
        {
            return new RedisMailboxStore(services.GetRequiredService<MailboxRedisConnection>().Multiplexer, options.Redis.KeyPrefix, time, metrics,
                services.GetRequiredService<ILogger<RedisMailboxStore>>(), ordering);
        }

        return new SqliteMailboxStore(Path.Combine(options.DataDir, options.Sqlite.FileName), options.Sqlite.Synchronous, time, metrics, ordering);
    }
}

/// <summary>
/// The mailbox's Redis connection: the process's one multiplexer for this Redis (<see cref="RedisConnections"/>), so
/// a mailbox on the host's Redis (<c>Redis:ConnectionString</c>) shares the routing's and billing's connection, and is
/// closed with the container. Opened on first use; it keeps reconnecting in the background when Redis is away. When
/// the mailbox is the first to open it, its timeouts are <c>Mailbox:Redis:OperationTimeoutSeconds</c>; otherwise those of
/// the feature that opened it (every accept is bounded by <c>Mailbox:AcceptTimeout</c> either way).
/// </summary>
internal sealed class MailboxRedisConnection(RedisConnections connections, IOptions<MailboxOptions> options)
{
    private readonly Lazy<IConnectionMultiplexer> _multiplexer = new(() => connections.GetAsync(options.Value.Redis.ConnectionString, configuration =>
    {
        var timeout = (int)Math.Ceiling(options.Value.Redis.OperationTimeoutSeconds * 1000);
        configuration.AsyncTimeout = timeout;
        configuration.SyncTimeout = timeout;
        configuration.ConnectTimeout = timeout;
    }).GetAwaiter().GetResult(), LazyThreadSafetyMode.ExecutionAndPublication);

    public IConnectionMultiplexer Multiplexer => _multiplexer.Value;
}
