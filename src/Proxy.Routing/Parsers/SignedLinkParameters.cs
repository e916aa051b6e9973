using System.IO.Compression;
using System.Text.Json;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Reads the payload of a signed link parameter (<c>payload:timestamp:signature</c>, URL-safe base64 JSON, a leading
/// "." meaning zlib-compressed). The edge only routes on it; the silo that serves the link verifies the signature.
/// </summary>
internal static class SignedLinkParameters
{
    private const int MaxDecodedBytes = 64 * 1024;

    public static long? IntegrationId(string signed)
    {
        var parts = signed.Split(':');
        if (parts.Length < 3)
        {
            return null;
        }

        var payload = string.Join(':', parts[..^2]);
        var compressed = payload.StartsWith('.');
        if (compressed)
        {
            payload = payload[1..];
        }

        var bytes = DecodeBase64Url(payload);
        if (bytes is null)
        {
            return null;
        }

        if (compressed)
        {
            bytes = Inflate(bytes);
            if (bytes is null)
            {
                return null;
            }
        }

        if (!PayloadReader.TryParseJson(bytes, out var document))
        {
            return null;
        }

        using (document)
        {
            if (document!.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("integration_id", out var id))
            {
                if (id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var number))
                {
                    return number;
                }

                if (id.ValueKind == JsonValueKind.String && long.TryParse(id.GetString(), out number))
                {
                    return number;
                }
            }
        }

        return null;
    }

    private static byte[]? DecodeBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", _ => string.Empty };
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static byte[]? Inflate(byte[] data)
    {
        try
        {
            using var input = new MemoryStream(data);
            using var zlib = new ZLibStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = zlib.Read(buffer, 0, buffer.Length)) > 0)
            {
                output.Write(buffer, 0, read);
                if (output.Length > MaxDecodedBytes)
                {
                    return null;
                }
            }

            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
