using Microsoft.Extensions.Options;

namespace Proxy.Billing;

/// <summary>Checks the <c>Billing</c> section at start; each failure names its configuration key.</summary>
internal sealed class BillingOptionsValidator : IValidateOptions<BillingOptions>
{
    public ValidateOptionsResult Validate(string? name, BillingOptions options)
    {
        var failures = new List<string>();
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Skip;
        }

        if (options.BatchSize is < 1 or > 10_000)
        {
            failures.Add("Billing:BatchSize must be between 1 and 10000.");
        }

        RequirePositive(failures, "Billing:MaxBatchWait", options.MaxBatchWait);
        RequirePositive(failures, "Billing:InitialRetryDelay", options.InitialRetryDelay);
        if (options.MaxRetryDelay < options.InitialRetryDelay)
        {
            failures.Add("Billing:MaxRetryDelay must not be shorter than Billing:InitialRetryDelay.");
        }

        // The flag keys live in Redis whatever the transport, as the reference's cache does.
        RequireText(failures, "Billing:Redis:ConnectionString", options.Redis.ConnectionString);
        RequirePositive(failures, "Billing:Flags:FlagUpdatedTtl", options.Flags.FlagUpdatedTtl);
        RequirePositive(failures, "Billing:Flags:ProjectCacheTtl", options.Flags.ProjectCacheTtl);
        RequireText(failures, "Billing:Flags:ProjectFlagsKeyPrefix", options.Flags.ProjectFlagsKeyPrefix);
        RequireText(failures, "Billing:Flags:EventMarkerKeyPrefix", options.Flags.EventMarkerKeyPrefix);
        if (options.Flags.Store == ProjectFlagsStoreKind.Http)
        {
            if (!Uri.TryCreate(options.Flags.HttpBaseAddress, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                failures.Add("Billing:Flags:HttpBaseAddress must be an absolute http(s) address with Billing:Flags:Store=Http.");
            }

            RequirePositive(failures, "Billing:Flags:HttpTimeout", options.Flags.HttpTimeout);
        }

        if (options.Transport == BillingTransportKind.Redis)
        {
            var redis = options.Redis;
            RequireTexts(failures, "Billing:Redis:",
                ("InputStream", redis.InputStream), ("ConsumerGroup", redis.ConsumerGroup),
                ("BillingOutcomesStream", redis.BillingOutcomesStream), ("OutcomesStream", redis.OutcomesStream),
                ("EventsStream", redis.EventsStream), ("DeadLetterStream", redis.DeadLetterStream));
            RequirePositive(failures, "Billing:Redis:ClaimMinIdle", redis.ClaimMinIdle);
            if (string.IsNullOrWhiteSpace(redis.GroupStartId))
            {
                failures.Add("Billing:Redis:GroupStartId must be 0, $ or a stream entry id.");
            }

            var tags = new[] { redis.InputStream, redis.BillingOutcomesStream, redis.OutcomesStream, redis.EventsStream, redis.DeadLetterStream }
                .Select(HashTag).Distinct(StringComparer.Ordinal).Count();
            if (tags > 1)
            {
                failures.Add("Billing:Redis stream names (InputStream, BillingOutcomesStream, OutcomesStream, EventsStream, " +
                    "DeadLetterStream) must share one hash tag such as {billing}, so the commit script's keys are in one Redis Cluster slot.");
            }
        }
        else
        {
            var kafka = options.Kafka;
            RequireTexts(failures, "Billing:Kafka:",
                ("BootstrapServers", kafka.BootstrapServers), ("GroupId", kafka.GroupId), ("InputTopic", kafka.InputTopic),
                ("BillingOutcomesTopic", kafka.BillingOutcomesTopic), ("OutcomesTopic", kafka.OutcomesTopic),
                ("EventsTopic", kafka.EventsTopic), ("DeadLetterTopic", kafka.DeadLetterTopic));
            RequirePositive(failures, "Billing:Kafka:TransactionTimeout", kafka.TransactionTimeout);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The Redis Cluster hash tag: the text between the first '{' and the next '}', when not empty.</summary>
    internal static string HashTag(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0)
        {
            var close = key.IndexOf('}', open + 1);
            if (close > open + 1)
            {
                return key[(open + 1)..close];
            }
        }

        return key;
    }

    private static void RequireText(List<string> failures, string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            failures.Add($"{key} is required.");
        }
    }

    private static void RequireTexts(List<string> failures, string prefix, params (string Key, string Value)[] settings)
    {
        foreach (var (key, value) in settings)
        {
            RequireText(failures, prefix + key, value);
        }
    }

    private static void RequirePositive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{key} must be a positive duration.");
        }
    }
}
