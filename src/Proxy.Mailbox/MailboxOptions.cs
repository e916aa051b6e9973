namespace Proxy.Mailbox;

public enum MailboxStoreKind
{
    /// <summary>Redis when a connection string is set (<c>Mailbox:Redis:ConnectionString</c>, else <c>Redis:ConnectionString</c>), otherwise SQLite.</summary>
    Auto,
    Sqlite,
    Redis,
}

/// <summary>The "Mailbox" configuration section. Every value is checked at start; a bad one stops the host with the key in the message.</summary>
public sealed class MailboxOptions
{
    public const string SectionName = "Mailbox";

    public MailboxStoreKind Store { get; set; } = MailboxStoreKind.Auto;

    /// <summary>The folder of the SQLite file (relative paths are relative to the working directory).</summary>
    public string DataDir { get; set; } = "data";

    /// <summary>
    /// Longest time an accept may take to name the mailbox and store the entries; past it the sender gets 503 with
    /// <c>Retry-After</c>. Keep it well under the senders' own timeouts (GitHub: 10 s).
    /// </summary>
    public TimeSpan AcceptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public bool DrainerEnabled { get; set; } = true;

    /// <summary>How often the drainer looks for due lanes when nothing wakes it.</summary>
    public double PollIntervalSeconds { get; set; } = 1;

    /// <summary>Lanes drained at the same time by one replica.</summary>
    public int MaxConcurrentMailboxes { get; set; } = 32;

    /// <summary>Deliveries from one lane before the drainer gives the lane back, so that long lanes take turns.</summary>
    public int MaxDeliveriesPerClaim { get; set; } = 300;

    public int MaxAttempts { get; set; } = 10;

    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(3);

    public double DeliveryTimeoutSeconds { get; set; } = 20;

    /// <summary>A claimed lane is held this long and renewed every third of it while being drained.</summary>
    public double LeaseSeconds { get; set; } = 30;

    /// <summary>How often the depth and age gauges are read from the store.</summary>
    public double GaugeIntervalSeconds { get; set; } = 15;

    /// <summary>
    /// How each provider's lanes are drained, by provider (the part of the mailbox name before the first <c>:</c>,
    /// case-insensitive): <see cref="MailboxLaneOrdering.DueHead"/> for GitHub, GitHub Enterprise, GitLab, Bitbucket and
    /// Bitbucket Server (as the reference), <see cref="MailboxLaneOrdering.Strict"/> for every provider not listed.
    /// </summary>
    public Dictionary<string, MailboxLaneOrdering> Ordering { get; set; } = MailboxOrdering.Defaults();

    public MailboxBackoffOptions Backoff { get; set; } = new();

    public MailboxParallelOptions Parallel { get; set; } = new();

    public MailboxRedisOptions Redis { get; set; } = new();

    public MailboxSqliteOptions Sqlite { get; set; } = new();

    public MailboxBucketingOptions Bucketing { get; set; } = new();
}

/// <summary>How the entries of one lane are delivered.</summary>
public enum MailboxLaneOrdering
{
    /// <summary>First in, first out: an entry in backoff holds back every later entry of its lane (head-of-line blocking).</summary>
    Strict,

    /// <summary>
    /// The earliest entry that is due goes next: an entry in backoff stays where it is while the later entries of its
    /// lane are delivered. For providers whose webhooks carry their own state and need no strict order.
    /// </summary>
    DueHead,
}

/// <summary>Delay before attempt n+1 after attempt n: <c>min(InitialMinutes x Rate^n, MaxMinutes)</c>.</summary>
public sealed class MailboxBackoffOptions
{
    public double InitialMinutes { get; set; } = 3;

    public double Rate { get; set; } = 1.4;

    public double MaxMinutes { get; set; } = 60;

    /// <summary>The longest wait a region's <c>Retry-After</c> can impose.</summary>
    public double MaxRetryAfterMinutes { get; set; } = 60;
}

/// <summary>Lanes at least <see cref="Threshold"/> deep are sent <see cref="Workers"/> at a time, giving up order within each batch.</summary>
public sealed class MailboxParallelOptions
{
    /// <summary>0 turns parallel draining off.</summary>
    public int Threshold { get; set; } = 60;

    public int Workers { get; set; } = 4;
}

public sealed class MailboxRedisOptions
{
    public string ConnectionString { get; set; } = "";

    /// <summary>First part of every key, so that several deployments can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "mb";

    /// <summary>How often the drainer rebuilds the global indexes from the per-mailbox data.</summary>
    public double IndexRepairMinutes { get; set; } = 10;

    /// <summary>
    /// Longest wait for one Redis command (and for a connection): a Redis outage turns an accept into a 503 within this
    /// time instead of the client's default 5 s, so a sender with a 10 s budget (GitHub) gets its answer.
    /// </summary>
    public double OperationTimeoutSeconds { get; set; } = 2;

    /// <summary>
    /// Start even though Redis runs with a <c>maxmemory-policy</c> other than <c>noeviction</c> (a full Redis then
    /// deletes stored webhooks). Off: the host refuses to start.
    /// </summary>
    public bool AllowEviction { get; set; }
}

public sealed class MailboxSqliteOptions
{
    public string FileName { get; set; } = "mailbox.db";

    public SqliteDurability Synchronous { get; set; } = SqliteDurability.Full;
}

/// <summary>An integration past <see cref="ThresholdPerHour"/> webhooks in an hour gets bucketed mailbox names for <see cref="DurationHours"/>.</summary>
public sealed class MailboxBucketingOptions
{
    public bool Enabled { get; set; } = true;

    public int ThresholdPerHour { get; set; } = 3000;

    public double DurationHours { get; set; } = 24;

    public int Buckets { get; set; } = 100;
}
