using Proxy.Routing.Requests;

namespace Proxy.Routing.Signatures;

public enum SignatureVerdict
{
    /// <summary>No secret is configured for this provider: the region verifies it, as it always does.</summary>
    NotConfigured,

    /// <summary>The provider does not sign this endpoint (a browser page such as an identity link): nothing to check.</summary>
    NotSigned,
    Valid,
    Invalid,
}

/// <summary>Checks a provider's webhook signature at the edge, when a secret for it is configured.</summary>
public interface IWebhookSignatureVerifier
{
    /// <summary>The provider keys this verifier serves.</summary>
    IReadOnlyCollection<string> Providers { get; }

    /// <summary>
    /// True for the endpoints the provider signs (webhooks, interactions, commands...). Pages a browser opens carry no
    /// signature and are never checked, whatever secret is set.
    /// </summary>
    bool Signs(string provider, WebhookRequest request) => true;

    SignatureVerdict Verify(string provider, WebhookRequest request, DateTimeOffset now, out string? reason);
}

/// <summary>Secrets per provider, section <c>Providers:{provider}</c>.</summary>
public sealed class ProviderSecretsOptions
{
    public const string Section = "Providers";

    public Dictionary<string, ProviderSecret> Providers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> SecretsFor(string provider)
        => Providers.TryGetValue(provider, out var secret) ? secret.AllSecrets() : [];

    /// <summary>The provider's settings, or the defaults when it has no section.</summary>
    public ProviderSecret For(string provider) => Providers.TryGetValue(provider, out var secret) ? secret : ProviderSecret.Defaults;
}

public sealed class ProviderSecret
{
    internal static ProviderSecret Defaults { get; } = new();

    private static readonly string[] DefaultResponseUrlPrefixes = ["https://hooks.slack.com/"];

    /// <summary>The signing secret the provider uses for its webhooks.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>The application's public key, hex (Discord signs with Ed25519 instead of a shared secret).</summary>
    public string? PublicKey { get; set; }

    /// <summary>Extra secrets accepted while a secret is being rotated.</summary>
    public List<string> PreviousSigningSecrets { get; } = [];

    /// <summary>How far a signed timestamp may be from now (providers that sign one).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Answer requests that carry a <c>response_url</c> at once and post the region's answer there later (Slack
    /// commands and actions), instead of waiting for the region within the sender's deadline.
    /// </summary>
    public bool DeferredResponses { get; set; } = true;

    /// <summary>
    /// The only URL prefixes a <c>response_url</c> may start with; any other is ignored (the request is then answered
    /// synchronously), so a sender cannot make the proxy post to an address of its choosing. Empty means Slack's
    /// <c>https://hooks.slack.com/</c>.
    /// </summary>
    public List<string> ResponseUrlPrefixes { get; } = [];

    public bool AllowsResponseUrl(string url)
    {
        var prefixes = ResponseUrlPrefixes.Count > 0 ? (IReadOnlyList<string>)ResponseUrlPrefixes : DefaultResponseUrlPrefixes;
        return DeferredResponses && ResponseUrlPolicy.Allows(url, prefixes);
    }

    public IReadOnlyList<string> AllSecrets()
        => new[] { SigningSecret }.Concat(PreviousSigningSecrets).Where(s => !string.IsNullOrEmpty(s)).Cast<string>().ToArray();
}
