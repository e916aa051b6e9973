using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Proxy.Signing;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Puts <c>X-Edge-Signature</c> on a request to a silo, timed when it is sent, over the exact body bytes it carries.
/// YARP's forwards are signed by <see cref="EdgeSignatureTransform"/>, every other send by
/// <see cref="RegionRequestBuilder.SendAsync"/>.
/// </summary>
internal sealed class EdgeRequestSigner(IOptions<EdgeSigningOptions> options, TimeProvider time)
{
    /// <summary>
    /// Set on a message built by <see cref="RegionRequestBuilder"/>: it is signed when sent (a deferred leg or a mailbox
    /// delivery leaves later than it is built), so the route's transforms leave it unsigned.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> SignedWhenSent = new("Proxy.EdgeSignature.SignedWhenSent");

    private readonly EdgeSigner? _signer = options.Value.Keys.Count == 0 ? null : new EdgeSigner(options.Value.Keys);

    public bool Enabled => _signer is not null;

    /// <summary>The id of the key that signs, or null when signing is off.</summary>
    public string? KeyId => _signer?.KeyId;

    /// <summary>Signs a message whose body the caller holds; replaces any signature already on it.</summary>
    public void Sign(HttpRequestMessage message, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_signer is null)
        {
            return;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(body, hash);
        SetHeader(message, _signer, hash);
    }

    /// <summary>Signs a message over the bytes its content produces (a shared buffer: reading it copies nothing).</summary>
    public async ValueTask SignAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_signer is null)
        {
            return;
        }

        byte[] hash;
        if (message.Content is null)
        {
            hash = SHA256.HashData(ReadOnlySpan<byte>.Empty);
        }
        else
        {
            await using var body = await message.Content.ReadAsStreamAsync(cancellationToken);
            hash = await SHA256.HashDataAsync(body, cancellationToken);
        }

        SetHeader(message, _signer, hash);
    }

    private void SetHeader(HttpRequestMessage message, EdgeSigner signer, ReadOnlySpan<byte> bodyHash)
    {
        var uri = message.RequestUri ?? throw new InvalidOperationException("a request is signed once its address is known");
        var value = signer.SignBodyHash(time.GetUtcNow().ToUnixTimeSeconds(), message.Method.Method, uri.PathAndQuery, bodyHash);
        message.Headers.Remove(EdgeSignature.HeaderName);
        message.Headers.TryAddWithoutValidation(EdgeSignature.HeaderName, value);
    }
}
