using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Proxy.Billing.Messages;

/// <summary>
/// <c>%Y-%m-%dT%H:%M:%S.%fZ</c>: UTC, six fractional digits and a literal Z, the form snuba parses with strptime.
/// </summary>
public sealed class OutcomeTimestampConverter : JsonConverter<DateTimeOffset>
{
    internal const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'";

    /// <summary>Length of the formatted text, e.g. <c>2024-05-01T12:34:56.789012Z</c>.</summary>
    internal const int Length = 27;

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (text is null || !DateTime.TryParseExact(text, Format, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var value))
        {
            throw new JsonException($"timestamp '{text}' is not in the form {Format}");
        }

        return new DateTimeOffset(value, TimeSpan.Zero);
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> buffer = stackalloc byte[Length];
        writer.WriteStringValue(buffer[..FormatUtf8(value, buffer)]);
    }

    internal static int FormatUtf8(DateTimeOffset value, Span<byte> destination)
    {
        if (!value.UtcDateTime.TryFormat(destination, out var written, Format, CultureInfo.InvariantCulture))
        {
            throw new ArgumentException("destination is too small for a timestamp", nameof(destination));
        }

        return written;
    }
}
