using System.Security.Cryptography;

namespace Proxy.Signing;

/// <summary>
/// Checks <c>X-Edge-Signature</c> on a request a silo received: the key named by <c>k=</c> must be one of the
/// configured keys (all of them verify, so a list holding the old and the new key accepts both during a rotation), the
/// timestamp within the tolerance of now, and the HMAC equal in constant time. Hostile input gives a failure, never an
/// exception. Thread safe.
/// </summary>
public sealed class EdgeSignatureVerifier
{
    private readonly Dictionary<string, byte[]> _secrets;
    private readonly Dictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> _byId;
    private readonly TimeSpan _tolerance;
    private readonly TimeProvider _time;

    /// <param name="keys">Every key a request may be signed with.</param>
    /// <param name="tolerance">How far the signed time may be from now, either way; <see cref="EdgeSignature.DefaultTolerance"/> when null.</param>
    /// <param name="time">The clock; the system clock when null.</param>
    public EdgeSignatureVerifier(IReadOnlyList<EdgeSigningKey> keys, TimeSpan? tolerance = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            throw new ArgumentException("at least one key is needed to verify", nameof(keys));
        }

        EdgeSigningKey.ThrowIfInvalid(keys);
        _tolerance = tolerance ?? EdgeSignature.DefaultTolerance;
        if (_tolerance < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), "the tolerance cannot be negative");
        }

        _time = time ?? TimeProvider.System;
        _secrets = keys.ToDictionary(k => k.Id, k => k.SecretBytes(), StringComparer.Ordinal);
        _byId = _secrets.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <param name="header">The <c>X-Edge-Signature</c> value as received (null when absent).</param>
    /// <param name="method">The request method as received.</param>
    /// <param name="pathAndQuery">The request target as received (ASP.NET Core: <c>IHttpRequestFeature.RawTarget</c>).</param>
    /// <param name="body">The body bytes as received.</param>
    public EdgeSignatureResult Verify(string? header, string method, string pathAndQuery, ReadOnlySpan<byte> body)
    {
        Span<byte> hash = stackalloc byte[EdgeSignature.HashBytes];
        SHA256.HashData(body, hash);
        return VerifyBodyHash(header, method, pathAndQuery, hash);
    }

    /// <summary>The same for a body whose SHA-256 the caller computed while reading it.</summary>
    public EdgeSignatureResult VerifyBodyHash(string? header, string method, string pathAndQuery, ReadOnlySpan<byte> bodySha256)
    {
        if (string.IsNullOrEmpty(header))
        {
            return new(EdgeSignatureFailure.Missing, null, null);
        }

        if (method is null || pathAndQuery is null || bodySha256.Length != EdgeSignature.HashBytes
            || !EdgeSignatureHeader.TryParse(header, out var parsed))
        {
            return new(EdgeSignatureFailure.Malformed, null, null);
        }

        var keyId = parsed.KeyId.ToString();
        if (!_byId.TryGetValue(parsed.KeyId, out var secret))
        {
            return new(EdgeSignatureFailure.UnknownKey, keyId, parsed.Timestamp);
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        // Both ways: a timestamp in the future is as suspect as one in the past. Subtraction cannot overflow: t has at most 12 digits.
        if (Math.Abs(now - parsed.Timestamp) > (long)_tolerance.TotalSeconds)
        {
            return new(EdgeSignatureFailure.OutsideWindow, keyId, parsed.Timestamp);
        }

        Span<byte> presented = stackalloc byte[EdgeSignature.HashBytes];
        Convert.FromHexString(parsed.SignatureHex, presented, out _, out _);
        var expected = EdgeSignature.Mac(secret, parsed.Timestamp, method, pathAndQuery, bodySha256);
        return CryptographicOperations.FixedTimeEquals(expected, presented)
            ? new(EdgeSignatureFailure.None, keyId, parsed.Timestamp)
            : new(EdgeSignatureFailure.Mismatch, keyId, parsed.Timestamp);
    }
}
