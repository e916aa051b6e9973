using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Proxy.Billing.Messages;
using Proxy.Billing.Processing;
using Proxy.Billing.Transport;
using Proxy.Testing;
using StackExchange.Redis;

namespace Proxy.Billing.Tests.Support;

/// <summary>
/// The consumer's services wired by <see cref="BillingServiceCollectionExtensions.AddBillingConsumer"/> against the
/// real test redis-server, with stream names under a hash tag of their own, driven batch by batch by the test.
/// </summary>
internal sealed class BillingHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private BillingHarness(ServiceProvider services, IDatabase database, string tag)
    {
        _services = services;
        Database = database;
        Tag = tag;
        Options = services.GetRequiredService<IOptions<BillingOptions>>().Value;
        Transport = services.GetRequiredService<IBillingTransport>();
        Processor = services.GetRequiredService<BatchProcessor>();
    }

    public string Tag { get; }

    public IDatabase Database { get; }

    public BillingOptions Options { get; }

    public IBillingTransport Transport { get; }

    public BatchProcessor Processor { get; }

    public IServiceProvider Services => _services;

    public static Dictionary<string, string?> Settings(RedisServer redis, string tag) => Settings(redis.ConnectionString, tag);

    public static Dictionary<string, string?> Settings(string redisConnectionString, string tag) => new()
    {
        ["Billing:Enabled"] = "true",
        ["Billing:Redis:ConnectionString"] = redisConnectionString,
        ["Billing:Redis:InputStream"] = $"{tag}:snuba-generic-metrics",
        ["Billing:Redis:BillingOutcomesStream"] = $"{tag}:outcomes-billing",
        ["Billing:Redis:OutcomesStream"] = $"{tag}:outcomes",
        ["Billing:Redis:EventsStream"] = $"{tag}:first-custom-metric-received",
        ["Billing:Redis:DeadLetterStream"] = $"{tag}:snuba-generic-metrics-dlq",
        ["Billing:Flags:ProjectFlagsKeyPrefix"] = $"{tag}:project-flags:",
        ["Billing:Flags:EventMarkerKeyPrefix"] = $"{tag}:first-custom-metric-event:",
    };

    public static async Task<BillingHarness> StartAsync(RedisServer redis, TimeProvider timeProvider,
        Action<Dictionary<string, string?>>? configure = null, string? tag = null)
    {
        tag ??= "{billing-" + Guid.NewGuid().ToString("N")[..8] + "}";
        var settings = Settings(redis, tag);
        configure?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(timeProvider)
            .AddBillingConsumer(configuration)
            .BuildServiceProvider(validateScopes: true);
        var harness = new BillingHarness(services, redis.Connection!.GetDatabase(), tag);
        await harness.Transport.StartAsync(CancellationToken.None);
        return harness;
    }

    public Task AddProjectAsync(long projectId, ulong flags = 0) =>
        Database.StringSetAsync(Options.Flags.ProjectFlagsKeyPrefix + projectId, flags.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async Task<ulong?> ProjectFlagsAsync(long projectId)
    {
        var value = await Database.StringGetAsync(Options.Flags.ProjectFlagsKeyPrefix + projectId);
        return value.IsNull ? null : ulong.Parse((string)value!, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<string>> AddBucketsAsync(params string[] payloads)
    {
        var ids = new List<string>();
        foreach (var payload in payloads)
        {
            ids.Add((await Database.StreamAddAsync(Options.Redis.InputStream, StreamFields.Payload, payload)).ToString());
        }

        return ids;
    }

    /// <summary>Reads and commits batches until the group has neither undelivered nor pending entries.</summary>
    public async Task DrainAsync()
    {
        for (var round = 0; round < 10_000; round++)
        {
            var group = (await Database.StreamGroupInfoAsync(Options.Redis.InputStream)).Single(g => g.Name == Options.Redis.ConsumerGroup);
            if (group.Lag == 0 && group.PendingMessageCount == 0)
            {
                return;
            }

            var batch = await Transport.ReadBatchAsync(CancellationToken.None);
            if (batch.Count > 0)
            {
                await Processor.ProcessAsync(Transport, batch, CancellationToken.None);
            }
        }

        throw new InvalidOperationException("the input did not drain");
    }

    public async Task<IReadOnlyList<StreamEntry>> EntriesAsync(string stream) => await Database.StreamRangeAsync(stream);

    public async Task<IReadOnlyList<Outcome>> OutcomesAsync(string? stream = null) =>
        [.. (await EntriesAsync(stream ?? Options.Redis.BillingOutcomesStream))
            .Select(e => JsonSerializer.Deserialize((string)e[StreamFields.Payload]!, BillingJsonContext.Default.Outcome)!)];

    public async Task<IReadOnlyList<FirstCustomMetricReceived>> EventsAsync() =>
        [.. (await EntriesAsync(Options.Redis.EventsStream))
            .Select(e => JsonSerializer.Deserialize((string)e[StreamFields.Payload]!, BillingJsonContext.Default.FirstCustomMetricReceived)!)];

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}
