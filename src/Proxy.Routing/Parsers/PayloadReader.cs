using System.Globalization;
using System.Text.Json;

namespace Proxy.Routing.Parsers;

/// <summary>Small, allocation-conscious readers shared by the provider parsers. All of them are total: bad input gives false.</summary>
internal static class PayloadReader
{
    public static bool TryParseJson(ReadOnlyMemory<byte> body, out JsonDocument? document)
    {
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            return true;
        }
        catch (JsonException)
        {
            document = null;
            return false;
        }
    }

    public static bool TryParseJson(string text, out JsonDocument? document)
    {
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
            return true;
        }
        catch (JsonException)
        {
            document = null;
            return false;
        }
    }

    /// <summary>Follows a path of property names; returns the element only when every step exists.</summary>
    public static bool TryGetPath(JsonElement element, out JsonElement value, params ReadOnlySpan<string> path)
    {
        value = element;
        foreach (var name in path)
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(name, out value))
            {
                value = default;
                return false;
            }
        }

        return true;
    }

    /// <summary>A non-empty string, or a number rendered as its JSON text (ids are sometimes sent as numbers).</summary>
    public static string? AsIdentifier(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String when element.GetString() is { Length: > 0 } text => text,
        JsonValueKind.Number => element.GetRawText(),
        _ => null,
    };

    public static string? StringAt(JsonElement root, params ReadOnlySpan<string> path)
        => TryGetPath(root, out var value, path) ? AsIdentifier(value) : null;

    /// <summary>A JSON number that fits a long (bucket ids); null for anything else.</summary>
    public static long? Int64At(JsonElement root, params ReadOnlySpan<string> path)
        => TryGetPath(root, out var value, path) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : null;

    /// <summary>An id sent as a JSON number or as a numeric string (Jira sends <c>"10002"</c>); null for anything else.</summary>
    public static long? NumericIdAt(JsonElement root, params ReadOnlySpan<string> path)
        => Int64At(root, path)
            ?? (long.TryParse(StringAt(root, path), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) ? id : null);
}

/// <summary>
/// Bucket ids of the providers whose reference mailboxes have 10 buckets (Jira issues, Azure DevOps work items): the id
/// is folded into 0-9 here, so the mailbox's own modulo (<c>Mailbox:Bucketing:Buckets</c>, 10 or more) keeps it.
/// </summary>
internal static class MailboxBuckets
{
    public const int Ten = 10;

    public static long? Of(long? id) => id is { } value ? Math.Abs(value % Ten) : null;
}
