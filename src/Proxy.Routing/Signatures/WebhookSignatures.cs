using Proxy.Routing.Requests;

namespace Proxy.Routing.Signatures;

public enum SignatureVerdict
{
    /// <summary>No secret is configured for this provider: the region verifies it, as it always does.</summary>
    NotConfigured,
    Valid,
    Invalid,
}

/// <summary>Checks a provider's webhook signature at the edge, when a secret for it is configured.</summary>
public interface IWebhookSignatureVerifier
{
    /// <summary>The provider keys this verifier serves.</summary>
    IReadOnlyCollection<string> Providers { get; }

    SignatureVerdict Verify(string provider, WebhookRequest request, DateTimeOffset now, out string? reason);
}

/// <summary>Secrets per provider, section <c>Providers:{provider}</c>.</summary>
public sealed class ProviderSecretsOptions
{
    public const string Section = "Providers";

    public Dictionary<string, ProviderSecret> Providers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> SecretsFor(string provider)
        => Providers.TryGetValue(provider, out var secret) ? secret.AllSecrets() : [];
}

public sealed class ProviderSecret
{
    /// <summary>The signing secret the provider uses for its webhooks.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>Extra secrets accepted while a secret is being rotated.</summary>
    public List<string> PreviousSigningSecrets { get; } = [];

    /// <summary>How far a signed timestamp may be from now (providers that sign one).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    public IReadOnlyList<string> AllSecrets()
        => new[] { SigningSecret }.Concat(PreviousSigningSecrets).Where(s => !string.IsNullOrEmpty(s)).Cast<string>().ToArray();
}
