using System.Text.Json;
using System.Text.Json.Serialization;

namespace Proxy.Billing.Messages;

/// <summary>
/// A generic metric bucket of the <c>snuba-generic-metrics</c> topic (schema v1), in full.
/// The consumer's hot path reads only what billing needs (<see cref="Counting.BucketParser"/>); this type is
/// the whole message, for producers, tests and tools.
/// </summary>
public sealed record MetricBucket
{
    [JsonPropertyName("version")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Version { get; init; }

    [JsonPropertyName("use_case_id")]
    public required string UseCaseId { get; init; }

    [JsonPropertyName("org_id")]
    public required long OrgId { get; init; }

    [JsonPropertyName("project_id")]
    public required long ProjectId { get; init; }

    /// <summary>Indexed id of the MRI; hard-coded ids are at or above 2^63, hence unsigned.</summary>
    [JsonPropertyName("metric_id")]
    public required ulong MetricId { get; init; }

    /// <summary><c>c</c> counter, <c>s</c> set, <c>d</c> distribution, <c>g</c> gauge.</summary>
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("timestamp")]
    public required long Timestamp { get; init; }

    [JsonPropertyName("sentry_received_timestamp")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SentryReceivedTimestamp { get; init; }

    [JsonPropertyName("tags")]
    public required IReadOnlyDictionary<string, string> Tags { get; init; }

    [JsonPropertyName("value")]
    public required MetricValue Value { get; init; }

    [JsonPropertyName("retention_days")]
    public required int RetentionDays { get; init; }

    /// <summary>Fetch type (<c>c h d f r</c>) to decimal-string id to MRI or tag key.</summary>
    [JsonPropertyName("mapping_meta")]
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> MappingMeta { get; init; }

    [JsonPropertyName("aggregation_option")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AggregationOption { get; init; }
}

/// <summary>The <c>value</c> of a bucket: a number, a list, a gauge object or an encoded series.</summary>
[JsonConverter(typeof(MetricValueConverter))]
public abstract record MetricValue;

/// <summary>A counter's value.</summary>
public sealed record CounterValue(double Value) : MetricValue;

/// <summary>A set's (integers) or a distribution's (numbers) values.</summary>
public sealed record ListValue(IReadOnlyList<double> Values) : MetricValue;

/// <summary>A gauge: all five fields are required.</summary>
public sealed record GaugeValue(double Min, double Max, double Sum, long Count, double Last) : MetricValue;

/// <summary>An encoded series: <c>format</c> is <c>array</c>, <c>base64</c> or <c>zstd</c>; <c>data</c> as sent.</summary>
public sealed record EncodedSeriesValue(string Format, JsonElement Data) : MetricValue;

/// <summary>Reads and writes the four shapes of <see cref="MetricValue"/>.</summary>
public sealed class MetricValueConverter : JsonConverter<MetricValue>
{
    public override MetricValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return new CounterValue(reader.GetDouble());
            case JsonTokenType.StartArray:
                var values = new List<double>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    values.Add(reader.GetDouble());
                }

                return new ListValue(values);
            case JsonTokenType.StartObject:
                using (var document = JsonDocument.ParseValue(ref reader))
                {
                    var root = document.RootElement;
                    if (root.TryGetProperty("format", out var format))
                    {
                        return new EncodedSeriesValue(format.GetString() ?? "", root.GetProperty("data").Clone());
                    }

                    return new GaugeValue(root.GetProperty("min").GetDouble(), root.GetProperty("max").GetDouble(),
                        root.GetProperty("sum").GetDouble(), root.GetProperty("count").GetInt64(),
                        root.GetProperty("last").GetDouble());
                }

            default:
                throw new JsonException($"a metric value cannot be a JSON {reader.TokenType}");
        }
    }

    public override void Write(Utf8JsonWriter writer, MetricValue value, JsonSerializerOptions options)
    {
        switch (value)
        {
            case CounterValue counter:
                writer.WriteNumberValue(counter.Value);
                break;
            case ListValue list:
                writer.WriteStartArray();
                foreach (var item in list.Values)
                {
                    writer.WriteNumberValue(item);
                }

                writer.WriteEndArray();
                break;
            case GaugeValue gauge:
                writer.WriteStartObject();
                writer.WriteNumber("min", gauge.Min);
                writer.WriteNumber("max", gauge.Max);
                writer.WriteNumber("sum", gauge.Sum);
                writer.WriteNumber("count", gauge.Count);
                writer.WriteNumber("last", gauge.Last);
                writer.WriteEndObject();
                break;
            case EncodedSeriesValue series:
                writer.WriteStartObject();
                writer.WriteString("format", series.Format);
                writer.WritePropertyName("data");
                series.Data.WriteTo(writer);
                writer.WriteEndObject();
                break;
            default:
                throw new JsonException($"unknown metric value {value.GetType().Name}");
        }
    }
}
