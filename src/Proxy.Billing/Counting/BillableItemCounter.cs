using Proxy.Billing.Messages;

namespace Proxy.Billing.Counting;

/// <summary>How many billable items of one category a bucket stands for.</summary>
internal readonly record struct BillableCount(DataCategory Category, long Quantity);

/// <summary>
/// The reference's counting rules: only the two usage counters are billed, quantity <c>max(trunc(value), 0)</c>,
/// one outcome per bucket and none below 1.
/// </summary>
internal static class BillableItemCounter
{
    /// <summary>Hard-coded indexer id of <c>c:transactions/usage@none</c> (2^63 + 137).</summary>
    public const ulong TransactionsUsageMetricId = 9223372036854775945;

    /// <summary>Hard-coded indexer id of <c>c:spans/usage@none</c> (2^63 + 418).</summary>
    public const ulong SpansUsageMetricId = 9223372036854776226;

    // 2^63 as a double: the first truncated value that no longer fits a long.
    private const double FirstOutOfRange = 9223372036854775808d;

    /// <summary>
    /// False (with the error) when the bucket is a usage counter whose value cannot be counted; true otherwise,
    /// with the count when there is one to bill.
    /// </summary>
    public static bool TryCount(in BillingBucket bucket, out BillableCount? count, out BucketError error)
    {
        count = null;
        error = default;
        DataCategory category;
        switch (bucket.MetricId)
        {
            case TransactionsUsageMetricId:
                category = DataCategory.Transaction;
                break;
            case SpansUsageMetricId:
                category = DataCategory.Span;
                break;
            default:
                return true;
        }

        long quantity;
        switch (bucket.ValueKind)
        {
            case BucketValueKind.Number when bucket.IntegerValue is { } integer:
                quantity = Math.Max(integer, 0);
                break;
            case BucketValueKind.Number when double.IsFinite(bucket.NumberValue) && bucket.NumberValue < FirstOutOfRange:
                quantity = Math.Max((long)Math.Truncate(bucket.NumberValue), 0);
                break;
            case BucketValueKind.Number when bucket.NumberValue < 0:
                quantity = 0;
                break;
            case BucketValueKind.Number:
                error = new BucketError(PoisonReason.OutOfRange, "value is too large for a 64-bit quantity");
                return false;
            case BucketValueKind.Missing:
                error = new BucketError(PoisonReason.MissingKey, "missing key 'value'");
                return false;
            case BucketValueKind.String or BucketValueKind.Boolean:
                error = new BucketError(PoisonReason.WrongType, "value of a usage counter must be a number");
                return false;
            default:
                // A list, an object or null: the reference's int() raises TypeError, which it treats as nothing to bill.
                return true;
        }

        if (quantity >= 1)
        {
            count = new BillableCount(category, quantity);
        }

        return true;
    }
}
