using System.Security.Cryptography;

namespace Proxy.Signing;

/// <summary>
/// Signs with the first key of the list (the primary); the others are there so the same list can be handed to
/// <see cref="EdgeSignatureVerifier"/> while keys rotate. Thread safe.
/// </summary>
public sealed class EdgeSigner
{
    private readonly byte[] _secret;

    public EdgeSigner(IReadOnlyList<EdgeSigningKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            throw new ArgumentException("at least one key is needed to sign", nameof(keys));
        }

        EdgeSigningKey.ThrowIfInvalid(keys);
        KeyId = keys[0].Id;
        _secret = keys[0].SecretBytes();
    }

    /// <summary>The id of the key that signs.</summary>
    public string KeyId { get; }

    /// <summary>The <c>X-Edge-Signature</c> value for a request.</summary>
    /// <param name="timestamp">Unix time in seconds when the request is sent.</param>
    /// <param name="method">The method as on the request line (<c>POST</c>).</param>
    /// <param name="pathAndQuery">The request target as sent: path, then <c>?</c> and the query when there is one.</param>
    /// <param name="body">The exact body bytes sent (empty for none).</param>
    public string Sign(long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> body)
    {
        Span<byte> hash = stackalloc byte[EdgeSignature.HashBytes];
        SHA256.HashData(body, hash);
        return SignBodyHash(timestamp, method, pathAndQuery, hash);
    }

    /// <summary>The same for a body whose SHA-256 the caller computed (a body read as a stream).</summary>
    public string SignBodyHash(long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> bodySha256)
        => EdgeSignature.HeaderValue(timestamp, KeyId, EdgeSignature.Mac(_secret, timestamp, method, pathAndQuery, bodySha256));
}
