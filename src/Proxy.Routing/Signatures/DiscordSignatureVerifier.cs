using System.Text;
using Microsoft.Extensions.Options;
using NSec.Cryptography;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Signatures;

/// <summary>
/// Discord: <c>X-Signature-Ed25519</c> is the hex Ed25519 signature of <c>X-Signature-Timestamp</c> + body, made with the
/// application's key; <c>Providers:discord:PublicKey</c> is its public half (hex, as Discord shows it). Discord sends
/// deliberately wrong signatures and removes an endpoint that accepts them, so a bad one must get 401.
/// </summary>
public sealed class DiscordSignatureVerifier(IOptionsMonitor<ProviderSecretsOptions> options) : IWebhookSignatureVerifier
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    public IReadOnlyCollection<string> Providers { get; } = ["discord"];

    /// <summary>Discord signs interactions only; the link, unlink and configure pages are opened by a browser.</summary>
    public bool Signs(string provider, WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return WebhookPath.EndpointAfterProvider(request.Path).Equals("interactions", StringComparison.OrdinalIgnoreCase);
    }

    public SignatureVerdict Verify(string provider, WebhookRequest request, DateTimeOffset now, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(request);
        reason = null;
        var hexKey = options.CurrentValue.For(provider).PublicKey;
        if (string.IsNullOrWhiteSpace(hexKey))
        {
            return SignatureVerdict.NotConfigured;
        }

        var signature = request.Header("X-Signature-Ed25519");
        var timestamp = request.Header("X-Signature-Timestamp");
        if (signature is null || timestamp is null)
        {
            reason = "X-Signature-Ed25519 and X-Signature-Timestamp are required";
            return SignatureVerdict.Invalid;
        }

        byte[] signatureBytes;
        PublicKey key;
        try
        {
            signatureBytes = Convert.FromHexString(signature);
            key = PublicKey.Import(Ed25519, Convert.FromHexString(hexKey), KeyBlobFormat.RawPublicKey);
        }
        catch (FormatException)
        {
            reason = "the signature or the configured public key is not hex of the right length";
            return SignatureVerdict.Invalid;
        }

        var prefix = Encoding.UTF8.GetBytes(timestamp);
        var message = new byte[prefix.Length + request.Body.Length];
        prefix.CopyTo(message, 0);
        request.Body.Span.CopyTo(message.AsSpan(prefix.Length));
        if (Ed25519.Verify(key, message, signatureBytes))
        {
            return SignatureVerdict.Valid;
        }

        reason = "the signature does not match";
        return SignatureVerdict.Invalid;
    }
}
