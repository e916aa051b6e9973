using Microsoft.Extensions.Options;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Signatures;

/// <summary>
/// GitHub and GitHub Enterprise: <c>X-Hub-Signature-256: sha256=hex(HMAC-SHA256(secret, body))</c>, each with its own
/// secret (<c>Providers:github:SigningSecret</c>, <c>Providers:github_enterprise:SigningSecret</c>). GitHub signs no
/// timestamp.
/// </summary>
public sealed class GitHubSignatureVerifier(IOptionsMonitor<ProviderSecretsOptions> options) : IWebhookSignatureVerifier
{
    public IReadOnlyCollection<string> Providers { get; } = ["github", "github_enterprise"];

    /// <summary>Only the webhook endpoints are signed; installation callbacks and other pages come from a browser.</summary>
    public bool Signs(string provider, WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return WebhookPath.EndpointAfterProvider(request.Path).Equals("webhook", StringComparison.OrdinalIgnoreCase);
    }

    public SignatureVerdict Verify(string provider, WebhookRequest request, DateTimeOffset now, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(request);
        reason = null;
        var secrets = options.CurrentValue.SecretsFor(provider);
        if (secrets.Count == 0)
        {
            return SignatureVerdict.NotConfigured;
        }

        var signature = request.Header("X-Hub-Signature-256");
        if (signature is null || !signature.StartsWith("sha256=", StringComparison.Ordinal))
        {
            reason = "X-Hub-Signature-256 with a sha256= signature is required";
            return SignatureVerdict.Invalid;
        }

        return HmacSignature.Verify(secrets, request.Body.Span, signature[7..], out reason);
    }
}
