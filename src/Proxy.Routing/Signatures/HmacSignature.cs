using System.Security.Cryptography;
using System.Text;

namespace Proxy.Routing.Signatures;

/// <summary>Constant-time check of a hex HMAC-SHA256 against any of the configured secrets (rotation).</summary>
internal static class HmacSignature
{
    public static SignatureVerdict Verify(IReadOnlyList<string> secrets, ReadOnlySpan<byte> message, string hexSignature, out string? reason)
    {
        byte[] expected;
        try
        {
            expected = Convert.FromHexString(hexSignature);
        }
        catch (FormatException)
        {
            reason = "the signature is not hex";
            return SignatureVerdict.Invalid;
        }

        foreach (var secret in secrets)
        {
            var actual = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
            if (CryptographicOperations.FixedTimeEquals(actual, expected))
            {
                reason = null;
                return SignatureVerdict.Valid;
            }
        }

        reason = "the signature does not match";
        return SignatureVerdict.Invalid;
    }
}
