using System.Text.Json;
using Proxy.Billing.Counting;
using Proxy.Billing.Messages;

namespace Proxy.Billing.Tests.Support;

/// <summary>Builds bucket JSON through the source-generated message type.</summary>
internal static class Buckets
{
    public const ulong TransactionsUsage = BillableItemCounter.TransactionsUsageMetricId;
    public const ulong SpansUsage = BillableItemCounter.SpansUsageMetricId;
    public const ulong TransactionsDuration = 9223372036854775909;
    public const ulong HasProfileTag = 9223372036854776068;

    public static string Usage(long orgId, long projectId, double value, ulong metricId = TransactionsUsage,
        IReadOnlyDictionary<string, string>? tags = null)
    {
        var mri = metricId == SpansUsage ? "c:spans/usage@none" : "c:transactions/usage@none";
        return Serialize(new MetricBucket
        {
            Version = 2,
            UseCaseId = metricId == SpansUsage ? "spans" : "transactions",
            OrgId = orgId,
            ProjectId = projectId,
            MetricId = metricId,
            Type = "c",
            Timestamp = 1677512412,
            Tags = tags ?? new Dictionary<string, string>(),
            Value = new CounterValue(value),
            RetentionDays = 90,
            MappingMeta = Meta("h", metricId, mri),
        });
    }

    public static string Duration(long orgId, long projectId, params double[] values) => Serialize(new MetricBucket
    {
        Version = 2,
        UseCaseId = "transactions",
        OrgId = orgId,
        ProjectId = projectId,
        MetricId = TransactionsDuration,
        Type = "d",
        Timestamp = 1677512412,
        Tags = new Dictionary<string, string>(),
        Value = new ListValue(values),
        RetentionDays = 90,
        MappingMeta = Meta("h", TransactionsDuration, "d:transactions/duration@millisecond"),
    });

    public static string Custom(long orgId, long projectId, string mri = "d:custom/page_load@ms", ulong metricId = 123,
        MetricValue? value = null) => Serialize(new MetricBucket
    {
        Version = 2,
        UseCaseId = "custom",
        OrgId = orgId,
        ProjectId = projectId,
        MetricId = metricId,
        Type = mri[..1],
        Timestamp = 1677512412,
        Tags = new Dictionary<string, string>(),
        Value = value ?? new ListValue([1.0, 2.0]),
        RetentionDays = 90,
        MappingMeta = Meta("c", metricId, mri),
    });

    public static string Serialize(MetricBucket bucket) => JsonSerializer.Serialize(bucket, BillingJsonContext.Default.MetricBucket);

    public static string Payload(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Payloads", name));

    private static Dictionary<string, IReadOnlyDictionary<string, string>> Meta(string fetchType, ulong id, string mri) =>
        new() { [fetchType] = new Dictionary<string, string> { [id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = mri } };
}
