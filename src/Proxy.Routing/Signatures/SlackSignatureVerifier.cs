using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Signatures;

/// <summary>
/// Slack's v0 scheme: <c>X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:" + X-Slack-Request-Timestamp + ":" + body))</c>,
/// with the timestamp no further than the allowed skew from now (replay protection).
/// </summary>
public sealed class SlackSignatureVerifier(IOptionsMonitor<ProviderSecretsOptions> options) : IWebhookSignatureVerifier
{
    public IReadOnlyCollection<string> Providers { get; } = ["slack", "slack_staging"];

    /// <summary>Slack signs what its servers send: commands, actions, events and options loads.</summary>
    public bool Signs(string provider, WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var endpoint = WebhookPath.EndpointAfterProvider(request.Path);
        return endpoint.Equals("commands", StringComparison.OrdinalIgnoreCase) || endpoint.Equals("action", StringComparison.OrdinalIgnoreCase)
            || endpoint.Equals("event", StringComparison.OrdinalIgnoreCase) || endpoint.Equals("options-load", StringComparison.OrdinalIgnoreCase);
    }

    public SignatureVerdict Verify(string provider, WebhookRequest request, DateTimeOffset now, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = options.CurrentValue;
        var secrets = settings.SecretsFor(provider);
        reason = null;
        if (secrets.Count == 0)
        {
            return SignatureVerdict.NotConfigured;
        }

        var timestamp = request.Header("X-Slack-Request-Timestamp");
        var signature = request.Header("X-Slack-Signature");
        if (timestamp is null || signature is null)
        {
            reason = "X-Slack-Request-Timestamp and X-Slack-Signature are required";
            return SignatureVerdict.Invalid;
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > settings.Providers[provider].MaxClockSkew.TotalSeconds)
        {
            reason = "the request timestamp is outside the allowed clock skew";
            return SignatureVerdict.Invalid;
        }

        if (!signature.StartsWith("v0=", StringComparison.Ordinal))
        {
            reason = "the signature is not a v0 signature";
            return SignatureVerdict.Invalid;
        }

        var prefix = Encoding.ASCII.GetBytes($"v0:{timestamp}:");
        var message = new byte[prefix.Length + request.Body.Length];
        prefix.CopyTo(message, 0);
        request.Body.Span.CopyTo(message.AsSpan(prefix.Length));
        return HmacSignature.Verify(secrets, message, signature[3..], out reason);
    }
}
