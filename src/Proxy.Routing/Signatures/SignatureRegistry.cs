using Proxy.Routing.Requests;

namespace Proxy.Routing.Signatures;

/// <summary>The signature verifiers, by provider key.</summary>
public sealed class SignatureRegistry(IEnumerable<IWebhookSignatureVerifier> verifiers)
{
    private readonly Dictionary<string, IWebhookSignatureVerifier> _byProvider = verifiers
        .SelectMany(v => v.Providers.Select(p => (p, v)))
        .ToDictionary(x => x.p, x => x.v, StringComparer.OrdinalIgnoreCase);

    public SignatureVerdict Verify(string provider, WebhookRequest request, DateTimeOffset now, out string? reason)
    {
        reason = null;
        if (!_byProvider.TryGetValue(provider, out var verifier))
        {
            return SignatureVerdict.NotConfigured;
        }

        return verifier.Signs(provider, request) ? verifier.Verify(provider, request, now, out reason) : SignatureVerdict.NotSigned;
    }
}
