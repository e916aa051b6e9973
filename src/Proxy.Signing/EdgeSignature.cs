using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Proxy.Signing;

/// <summary>
/// The algorithm (docs/EDGE-SIGNING.md). The signed message is the UTF-8 of
/// <c>{t}.{METHOD}.{path?query}.{hex(sha256(body))}</c> and the header is
/// <c>X-Edge-Signature: t={t},k={key id},v1={hex(HMAC-SHA256(secret, message))}</c>, hex in lower case.
/// </summary>
public static class EdgeSignature
{
    public const string HeaderName = "X-Edge-Signature";

    /// <summary>The signature scheme's field name; a later scheme gets a new name and verifiers ignore names they do not know.</summary>
    public const string SchemeV1 = "v1";

    /// <summary>Replays older (or newer) than this are refused unless a verifier says otherwise.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    internal const int HashBytes = 32;

    /// <summary>The exact string that is signed, for a body already hashed with SHA-256.</summary>
    public static string CanonicalMessage(long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> bodySha256)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(pathAndQuery);
        if (bodySha256.Length != HashBytes)
        {
            throw new ArgumentException("a SHA-256 hash is 32 bytes", nameof(bodySha256));
        }

        return string.Create(CultureInfo.InvariantCulture, $"{timestamp}.{method}.{pathAndQuery}.{Convert.ToHexStringLower(bodySha256)}");
    }

    /// <summary>HMAC-SHA256 of the canonical message under <paramref name="secret"/>.</summary>
    internal static byte[] Mac(byte[] secret, long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> bodySha256)
        => HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(CanonicalMessage(timestamp, method, pathAndQuery, bodySha256)));

    internal static string HeaderValue(long timestamp, string keyId, ReadOnlySpan<byte> mac)
        => string.Create(CultureInfo.InvariantCulture, $"t={timestamp},k={keyId},{SchemeV1}={Convert.ToHexStringLower(mac)}");
}
