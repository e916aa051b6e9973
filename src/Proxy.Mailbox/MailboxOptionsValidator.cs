using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Mailbox;

/// <summary>Checks the "Mailbox" section; every failure names the configuration key.</summary>
internal sealed class MailboxOptionsValidator : IValidateOptions<MailboxOptions>
{
    public ValidateOptionsResult Validate(string? name, MailboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        void Positive(string key, double value)
        {
            if (!(value > 0) || double.IsInfinity(value))
            {
                errors.Add($"Mailbox:{key} must be a positive number (got {value}).");
            }
        }

        void AtLeast(string key, int value, int minimum)
        {
            if (value < minimum)
            {
                errors.Add($"Mailbox:{key} must be at least {minimum} (got {value}).");
            }
        }

        Positive("PollIntervalSeconds", options.PollIntervalSeconds);
        Positive("DeliveryTimeoutSeconds", options.DeliveryTimeoutSeconds);
        Positive("LeaseSeconds", options.LeaseSeconds);
        Positive("GaugeIntervalSeconds", options.GaugeIntervalSeconds);
        Positive("Backoff:InitialMinutes", options.Backoff.InitialMinutes);
        Positive("Backoff:MaxMinutes", options.Backoff.MaxMinutes);
        Positive("Backoff:MaxRetryAfterMinutes", options.Backoff.MaxRetryAfterMinutes);
        Positive("Redis:IndexRepairMinutes", options.Redis.IndexRepairMinutes);
        Positive("Redis:OperationTimeoutSeconds", options.Redis.OperationTimeoutSeconds);
        Positive("Bucketing:DurationHours", options.Bucketing.DurationHours);
        AtLeast("MaxConcurrentMailboxes", options.MaxConcurrentMailboxes, 1);
        AtLeast("MaxDeliveriesPerClaim", options.MaxDeliveriesPerClaim, 1);
        AtLeast("MaxAttempts", options.MaxAttempts, 1);
        AtLeast("Parallel:Threshold", options.Parallel.Threshold, 0);
        AtLeast("Parallel:Workers", options.Parallel.Workers, 1);
        AtLeast("Bucketing:ThresholdPerHour", options.Bucketing.ThresholdPerHour, 1);
        AtLeast("Bucketing:Buckets", options.Bucketing.Buckets, 1);
        if (!(options.Backoff.Rate >= 1) || double.IsInfinity(options.Backoff.Rate))
        {
            errors.Add($"Mailbox:Backoff:Rate must be at least 1 (got {options.Backoff.Rate}).");
        }

        if (options.MaxAge <= TimeSpan.Zero)
        {
            errors.Add($"Mailbox:MaxAge must be a positive time span such as 3.00:00:00 (got {options.MaxAge}).");
        }

        if (options.AcceptTimeout <= TimeSpan.Zero || options.AcceptTimeout > TimeSpan.FromSeconds(60))
        {
            errors.Add($"Mailbox:AcceptTimeout must be a positive time span of at most a minute, such as 00:00:02 (got {options.AcceptTimeout}).");
        }

        foreach (var (provider, ordering) in options.Ordering ?? [])
        {
            if (!MailboxNames.IsValid(provider, allowColon: false) || !Enum.IsDefined(ordering))
            {
                errors.Add($"Mailbox:Ordering:{provider} must name a provider (no ':') and be Strict or DueHead (got {ordering}).");
            }
        }

        if (options.LeaseSeconds <= options.DeliveryTimeoutSeconds)
        {
            errors.Add($"Mailbox:LeaseSeconds ({options.LeaseSeconds}) must be longer than Mailbox:DeliveryTimeoutSeconds ({options.DeliveryTimeoutSeconds}).");
        }

        if (string.IsNullOrWhiteSpace(options.Redis.KeyPrefix) || options.Redis.KeyPrefix.AsSpan().IndexOfAny("{}") >= 0)
        {
            errors.Add($"Mailbox:Redis:KeyPrefix must be non-empty and free of braces (got '{options.Redis.KeyPrefix}').");
        }

        if (!string.IsNullOrWhiteSpace(options.Redis.ConnectionString))
        {
            try
            {
                ConfigurationOptions.Parse(options.Redis.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"Mailbox:Redis:ConnectionString is not a valid Redis connection string: {ex.Message}");
            }
        }

        if (options.Store == MailboxStoreKind.Redis && string.IsNullOrWhiteSpace(options.Redis.ConnectionString))
        {
            errors.Add("Mailbox:Store is Redis but neither Mailbox:Redis:ConnectionString nor Redis:ConnectionString is set.");
        }

        if (options.Store != MailboxStoreKind.Redis && ResolveStore(options) == MailboxStoreKind.Sqlite
            && (string.IsNullOrWhiteSpace(options.DataDir) || string.IsNullOrWhiteSpace(options.Sqlite.FileName)))
        {
            errors.Add("Mailbox:DataDir and Mailbox:Sqlite:FileName must be set for the SQLite store.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static MailboxStoreKind ResolveStore(MailboxOptions options) => options.Store switch
    {
        MailboxStoreKind.Auto => string.IsNullOrWhiteSpace(options.Redis.ConnectionString) ? MailboxStoreKind.Sqlite : MailboxStoreKind.Redis,
        var kind => kind,
    };
}
