using System.Buffers.Text;
using System.Text.Json;

namespace Proxy.Billing.Counting;

/// <summary>
/// Reads a generic metric bucket (UTF-8 JSON) in one forward pass, keeping only what billing needs.
/// It rejects exactly what the reference consumer raises on: invalid JSON, a missing
/// <c>metric_id</c>/<c>org_id</c>/<c>project_id</c>/<c>mapping_meta</c>, and keys of the wrong JSON type.
/// </summary>
internal static class BucketParser
{
    public static bool TryParse(ReadOnlySpan<byte> utf8, out BillingBucket bucket, out BucketError error)
    {
        try
        {
            return TryParseObject(utf8, out bucket, out error);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8.
            bucket = default;
            error = new BucketError(PoisonReason.InvalidJson, ex.Message);
            return false;
        }
    }

    private static bool TryParseObject(ReadOnlySpan<byte> utf8, out BillingBucket bucket, out BucketError error)
    {
        bucket = default;
        var reader = new Utf8JsonReader(utf8);
        // An empty message throws here: it holds no JSON value.
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            reader.Read();
            error = Wrong("the bucket", "a JSON object");
            return false;
        }

        long? orgId = null, projectId = null, integerValue = null;
        ulong? metricId = null;
        var valueKind = BucketValueKind.Missing;
        var numberValue = 0d;
        var hasMappingMeta = false;
        Range? deferredMappingMeta = null;
        string? mri = null;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = KeyOf(reader);
            if (key == BucketKey.OrgId)
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
                {
                    error = Wrong("org_id", "a 64-bit integer");
                    return false;
                }

                orgId = value;
            }
            else if (key == BucketKey.ProjectId)
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
                {
                    error = Wrong("project_id", "a 64-bit integer");
                    return false;
                }

                projectId = value;
            }
            else if (key == BucketKey.MetricId)
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out var value))
                {
                    error = Wrong("metric_id", "an unsigned 64-bit integer");
                    return false;
                }

                metricId = value;
            }
            else if (key == BucketKey.Value)
            {
                reader.Read();
                valueKind = KindOf(reader.TokenType);
                integerValue = null;
                if (valueKind == BucketValueKind.Number)
                {
                    if (reader.TryGetInt64(out var integer))
                    {
                        integerValue = integer;
                    }

                    // A literal beyond double's range reads as infinity, which counting rejects as out of range.
                    numberValue = reader.TryGetDouble(out var number) ? number : double.PositiveInfinity;
                }

                reader.Skip();
            }
            else if (key == BucketKey.MappingMeta)
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    error = Wrong("mapping_meta", "an object");
                    return false;
                }

                hasMappingMeta = true;
                deferredMappingMeta = null;
                if (metricId is { } known)
                {
                    // The usual order (metric_id first): resolve in the same pass.
                    if (!TryResolveMri(ref reader, known, out mri, out error))
                    {
                        return false;
                    }
                }
                else
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    deferredMappingMeta = start..(int)reader.BytesConsumed;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Anything after the object is invalid JSON; the reader throws on it.
        reader.Read();

        if (metricId is null)
        {
            error = Missing("metric_id");
            return false;
        }

        if (orgId is null)
        {
            error = Missing("org_id");
            return false;
        }

        if (projectId is null)
        {
            error = Missing("project_id");
            return false;
        }

        if (!hasMappingMeta)
        {
            error = Missing("mapping_meta");
            return false;
        }

        if (deferredMappingMeta is { } meta)
        {
            // mapping_meta came before metric_id: read it again now that the id is known.
            var again = new Utf8JsonReader(utf8[meta]);
            again.Read();
            if (!TryResolveMri(ref again, metricId.Value, out mri, out error))
            {
                return false;
            }
        }

        error = default;
        bucket = new BillingBucket(orgId.Value, projectId.Value, metricId.Value, valueKind, integerValue, numberValue, mri);
        return true;
    }

    /// <summary>
    /// The reference's <c>_resolve</c>: the outer values in order, the first whose entry for the metric id
    /// (as a decimal string) is not null. Every outer value must be an object, the entry a string or null.
    /// The reader starts on the object's StartObject and ends on its EndObject.
    /// </summary>
    private static bool TryResolveMri(ref Utf8JsonReader reader, ulong metricId, out string? mri, out BucketError error)
    {
        Span<byte> id = stackalloc byte[20];
        Utf8Formatter.TryFormat(metricId, id, out var idLength);
        id = id[..idLength];

        mri = null;
        error = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = Wrong("mapping_meta values", "objects");
                return false;
            }

            string? entry = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var matches = reader.ValueTextEquals(id);
                reader.Read();
                if (!matches)
                {
                    reader.Skip();
                    continue;
                }

                // Like a dict built from JSON, a repeated key keeps its last value.
                if (reader.TokenType == JsonTokenType.String)
                {
                    entry = reader.GetString();
                }
                else if (reader.TokenType == JsonTokenType.Null)
                {
                    entry = null;
                }
                else
                {
                    error = Wrong("the mapping_meta entry of metric_id", "a string or null");
                    return false;
                }
            }

            mri ??= entry;
        }

        return true;
    }

    /// <summary>Which of the keys billing reads the current property name is; by length first, as most keys are skipped.</summary>
    private static BucketKey KeyOf(in Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            return reader.ValueTextEquals("org_id"u8) ? BucketKey.OrgId
                : reader.ValueTextEquals("project_id"u8) ? BucketKey.ProjectId
                : reader.ValueTextEquals("metric_id"u8) ? BucketKey.MetricId
                : reader.ValueTextEquals("value"u8) ? BucketKey.Value
                : reader.ValueTextEquals("mapping_meta"u8) ? BucketKey.MappingMeta
                : BucketKey.Other;
        }

        var name = reader.ValueSpan;
        return name.Length switch
        {
            5 when name.SequenceEqual("value"u8) => BucketKey.Value,
            6 when name.SequenceEqual("org_id"u8) => BucketKey.OrgId,
            9 when name.SequenceEqual("metric_id"u8) => BucketKey.MetricId,
            10 when name.SequenceEqual("project_id"u8) => BucketKey.ProjectId,
            12 when name.SequenceEqual("mapping_meta"u8) => BucketKey.MappingMeta,
            _ => BucketKey.Other,
        };
    }

    private static BucketValueKind KindOf(JsonTokenType token) => token switch
    {
        JsonTokenType.Number => BucketValueKind.Number,
        JsonTokenType.StartArray => BucketValueKind.Array,
        JsonTokenType.StartObject => BucketValueKind.Object,
        JsonTokenType.Null => BucketValueKind.Null,
        JsonTokenType.String => BucketValueKind.String,
        _ => BucketValueKind.Boolean,
    };

    private static BucketError Missing(string key) => new(PoisonReason.MissingKey, $"missing key '{key}'");

    private static BucketError Wrong(string key, string expected) => new(PoisonReason.WrongType, $"{key} must be {expected}");

    private enum BucketKey
    {
        Other,
        OrgId,
        ProjectId,
        MetricId,
        Value,
        MappingMeta,
    }
}
