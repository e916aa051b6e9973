namespace Proxy.Billing;

/// <summary>Which stream system the consumer reads from and writes to.</summary>
public enum BillingTransportKind
{
    Redis,
    Kafka,
}

/// <summary>The <c>Billing</c> section. Defaults follow the reference consumer's topic names.</summary>
public sealed record BillingOptions
{
    public const string SectionName = "Billing";

    /// <summary>Nothing is registered unless this is true.</summary>
    public bool Enabled { get; set; }

    public BillingTransportKind Transport { get; set; } = BillingTransportKind.Redis;

    /// <summary>Most messages read, processed and committed together.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How long one read waits for messages before it returns what it has (possibly none).</summary>
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>First pause after a failure; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    public BillingRedisOptions Redis { get; set; } = new();

    public BillingKafkaOptions Kafka { get; set; } = new();

    public CustomMetricFlagOptions Flags { get; set; } = new();
}

/// <summary>
/// Redis: the custom-metric flag keys always live here; with <c>Transport=Redis</c> the streams too.
/// All stream names share the <c>{billing}</c> hash tag so the commit script's keys are in one Redis Cluster slot.
/// </summary>
public sealed record BillingRedisOptions
{
    /// <summary>StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>. Required.</summary>
    public string ConnectionString { get; set; } = "";

    public string InputStream { get; set; } = "{billing}:snuba-generic-metrics";

    public string ConsumerGroup { get; set; } = "billing-metrics-consumer";

    /// <summary>Empty means the machine name, so a restarted consumer finds its own pending entries.</summary>
    public string ConsumerName { get; set; } = "";

    /// <summary>Where a new consumer group starts: <c>0</c> (the whole stream) or <c>$</c> (only new entries).</summary>
    public string GroupStartId { get; set; } = "0";

    /// <summary>Entries pending this long with another (presumably dead) consumer are claimed with XAUTOCLAIM.</summary>
    public TimeSpan ClaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    public string BillingOutcomesStream { get; set; } = "{billing}:outcomes-billing";

    public string OutcomesStream { get; set; } = "{billing}:outcomes";

    public string EventsStream { get; set; } = "{billing}:first-custom-metric-received";

    public string DeadLetterStream { get; set; } = "{billing}:snuba-generic-metrics-dlq";
}

/// <summary>Kafka transport: consume, produce and commit offsets in one transaction.</summary>
public sealed record BillingKafkaOptions
{
    /// <summary>Required with <c>Transport=Kafka</c>, e.g. <c>127.0.0.1:9092</c>.</summary>
    public string BootstrapServers { get; set; } = "";

    public string GroupId { get; set; } = "billing-metrics-consumer";

    public string InputTopic { get; set; } = "snuba-generic-metrics";

    public string BillingOutcomesTopic { get; set; } = "outcomes-billing";

    public string OutcomesTopic { get; set; } = "outcomes";

    public string EventsTopic { get; set; } = "first-custom-metric-received";

    public string DeadLetterTopic { get; set; } = "snuba-generic-metrics-dlq";

    /// <summary>Empty means <c>billing-metrics-consumer-{machine name}</c>; must be stable across restarts of one instance.</summary>
    public string TransactionalId { get; set; } = "";

    /// <summary>Timeout of InitTransactions, SendOffsetsToTransaction, CommitTransaction and AbortTransaction.</summary>
    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Extra librdkafka consumer properties (e.g. <c>security.protocol</c>), applied before the fixed ones.</summary>
    public Dictionary<string, string> Consumer { get; set; } = [];

    /// <summary>Extra librdkafka producer properties, applied before the fixed ones.</summary>
    public Dictionary<string, string> Producer { get; set; } = [];
}

/// <summary>Where project flags are kept.</summary>
public enum ProjectFlagsStoreKind
{
    /// <summary>In Redis, one key per project (<see cref="CustomMetricFlagOptions.ProjectFlagsKeyPrefix"/>).</summary>
    Redis,

    /// <summary>Behind a silo's HTTP API (<see cref="CustomMetricFlagOptions.HttpBaseAddress"/>).</summary>
    Http,
}

/// <summary>The custom-metric flag (reference §5.4).</summary>
public sealed record CustomMetricFlagOptions
{
    public ProjectFlagsStoreKind Store { get; set; } = ProjectFlagsStoreKind.Redis;

    /// <summary>With <c>Store=Http</c>: the silo's base address, e.g. <c>http://region-us:8080/internal/</c>.</summary>
    public string HttpBaseAddress { get; set; } = "";

    public TimeSpan HttpTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Life of the <c>has-custom-metrics-flag-updated:{org}:{project}</c> key: 7 days, as the reference.</summary>
    public TimeSpan FlagUpdatedTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a project's flags are kept in memory, like the reference's 300 s model cache.</summary>
    public TimeSpan ProjectCacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Redis key prefix of a project's flags (a decimal 64-bit integer) in the default store.</summary>
    public string ProjectFlagsKeyPrefix { get; set; } = "project-flags:";

    /// <summary>Redis key prefix of the per-project marker that makes the event exactly-once.</summary>
    public string EventMarkerKeyPrefix { get; set; } = "{billing}:first-custom-metric-event:";
}
