using Microsoft.Extensions.Options;
using Proxy.Routing.Parsers;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Signatures;

/// <summary>
/// Gitea: <c>X-Gitea-Signature: hex(HMAC-SHA256(secret, body))</c>, no prefix and no timestamp. Only the webhook is
/// signed; Gitea's other pages (browser pages served by control) are never checked.
/// </summary>
public sealed class GiteaSignatureVerifier(IOptionsMonitor<ProviderSecretsOptions> options) : IWebhookSignatureVerifier
{
    public IReadOnlyCollection<string> Providers { get; } = ["gitea"];

    public SignatureVerdict Verify(string provider, WebhookRequest request, DateTimeOffset now, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(request);
        reason = null;
        var secrets = options.CurrentValue.SecretsFor(provider);
        if (secrets.Count == 0 || !GiteaParser.IsWebhook(request))
        {
            return SignatureVerdict.NotConfigured;
        }

        if (request.Header("X-Gitea-Signature") is not { Length: > 0 } signature)
        {
            reason = "X-Gitea-Signature is required";
            return SignatureVerdict.Invalid;
        }

        return HmacSignature.Verify(secrets, request.Body.Span, signature, out reason);
    }
}
