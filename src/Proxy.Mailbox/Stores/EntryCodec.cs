using System.Buffers;
using System.Text.Json;

namespace Proxy.Mailbox;

/// <summary>The storage form shared by both stores: headers as a JSON array of [name, value] pairs, instants as Unix milliseconds.</summary>
internal static class EntryCodec
{
    public static string WriteHeaders(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var (name, value) in headers)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(name);
                writer.WriteStringValue(value);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyList<KeyValuePair<string, string>> ReadHeaders(string json)
    {
        using var document = JsonDocument.Parse(json);
        var headers = new List<KeyValuePair<string, string>>(document.RootElement.GetArrayLength());
        foreach (var pair in document.RootElement.EnumerateArray())
        {
            headers.Add(new(pair[0].GetString() ?? "", pair[1].GetString() ?? ""));
        }

        return headers;
    }

    public static long ToMilliseconds(DateTimeOffset instant) => instant.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMilliseconds(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    /// <summary>An entry appended with no next attempt is due when it was received.</summary>
    public static long DueMilliseconds(MailboxEntry entry) =>
        ToMilliseconds(entry.NextAttemptAt == default ? entry.ReceivedAt : entry.NextAttemptAt);

    public static byte[] BodyArray(ReadOnlyMemory<byte> body) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment)
        && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : body.ToArray();

    /// <summary>
    /// True when the entries are one webhook for several regions with the same headers and body: then both stores keep
    /// that body once and each entry refers to it. A single entry keeps its body inline (nothing to share).
    /// </summary>
    public static bool SharesBody(IReadOnlyList<MailboxEntry> entries)
    {
        if (entries.Count < 2)
        {
            return false;
        }

        var first = entries[0];
        for (var i = 1; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (!ReferenceEquals(entry.Headers, first.Headers) && !entry.Headers.SequenceEqual(first.Headers))
            {
                return false;
            }

            if (!entry.Body.Span.SequenceEqual(first.Body.Span))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Checks one append batch: valid names, unique ids, one mailbox (one webhook) per call.</summary>
    public static void ThrowIfInvalidBatch(IReadOnlyList<MailboxEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            throw new ArgumentException("An append needs at least one entry.", nameof(entries));
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            MailboxNames.ThrowIfInvalid(entry);
            if (!string.Equals(entry.Mailbox, entries[0].Mailbox, StringComparison.Ordinal))
            {
                throw new ArgumentException("All entries of one append belong to one mailbox (one webhook, one entry per region).", nameof(entries));
            }

            if (!ids.Add(entry.DeliveryId))
            {
                throw new ArgumentException($"Delivery id {entry.DeliveryId} appears twice in one append.", nameof(entries));
            }
        }
    }
}
