using System.Buffers.Text;
using System.Text.Json;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Reads one claim of a JWT without verifying it. The edge only routes on the claim; the silo that owns the
/// integration holds the secret and verifies the token before acting on it.
/// </summary>
internal static class UnverifiedJwt
{
    /// <summary>The claim as a string (a number is rendered as its JSON text), or null for anything unreadable.</summary>
    public static string? StringClaim(string token, string claim)
    {
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[1].Length == 0)
        {
            return null;
        }

        byte[] payload;
        try
        {
            payload = Base64Url.DecodeFromChars(parts[1]);
        }
        catch (FormatException)
        {
            return null;
        }

        if (!PayloadReader.TryParseJson(payload, out var document))
        {
            return null;
        }

        using (document)
        {
            return document!.RootElement.ValueKind == JsonValueKind.Object ? PayloadReader.StringAt(document.RootElement, claim) : null;
        }
    }
}
