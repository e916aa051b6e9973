namespace Proxy.Billing.Counting;

/// <summary>What JSON token a bucket's <c>value</c> was; billing reads only numbers.</summary>
internal enum BucketValueKind : byte
{
    Missing,
    Number,
    Array,
    Object,
    Null,
    String,
    Boolean,
}

/// <summary>The part of a metric bucket that billing reads, with the MRI already resolved from <c>mapping_meta</c>.</summary>
/// <param name="IntegerValue">The value when the JSON number is an integer that fits 64 bits (kept exact).</param>
/// <param name="NumberValue">The value as a double, when it is a finite number.</param>
/// <param name="Mri">The first non-null <c>mapping_meta</c> entry for the metric id, or null.</param>
internal readonly record struct BillingBucket(
    long OrgId,
    long ProjectId,
    ulong MetricId,
    BucketValueKind ValueKind,
    long? IntegerValue,
    double NumberValue,
    string? Mri);

/// <summary>Why a message cannot be processed; its error type (<c>BucketError.ErrorType</c>) is the metric tag and dead-letter field.</summary>
internal enum PoisonReason
{
    InvalidJson,
    MissingKey,
    WrongType,
    OutOfRange,
}

internal readonly record struct BucketError(PoisonReason Reason, string Detail)
{
    public string ErrorType => Reason switch
    {
        PoisonReason.InvalidJson => "invalid_json",
        PoisonReason.MissingKey => "missing_key",
        PoisonReason.WrongType => "wrong_type",
        _ => "out_of_range",
    };

    public override string ToString() => $"{ErrorType}: {Detail}";
}
