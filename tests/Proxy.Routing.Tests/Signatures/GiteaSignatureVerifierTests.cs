using System.Security.Cryptography;
using System.Text;
using Proxy.Routing.Signatures;

namespace Proxy.Routing.Tests.Signatures;

public class GiteaSignatureVerifierTests
{
    private const string Webhook = "/extensions/gitea/organizations/2/webhook/40/";
    private const string Secret = "gitea-webhook-secret";

    private static GiteaSignatureVerifier Verifier(string? secret = Secret)
    {
        var options = new ProviderSecretsOptions();
        if (secret is not null)
        {
            options.Providers["gitea"] = new ProviderSecret { SigningSecret = secret };
        }

        return new GiteaSignatureVerifier(new StaticOptionsMonitor<ProviderSecretsOptions>(options));
    }

    private static string Sign(byte[] body, string secret = Secret)
        => Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private static SignatureVerdict Verify(GiteaSignatureVerifier verifier, string path, string? signature)
    {
        var body = Payloads.Bytes("gitea", "push.json");
        var headers = signature is null ? null : new Dictionary<string, string> { ["X-Gitea-Signature"] = signature };
        return verifier.Verify("gitea", Payloads.Request(path, body, "application/json", headers), DateTimeOffset.UnixEpoch, out _);
    }

    [Fact]
    public void The_hex_HMAC_of_the_body_is_valid()
        => Verify(Verifier(), Webhook, Sign(Payloads.Bytes("gitea", "push.json"))).Should().Be(SignatureVerdict.Valid);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-hex")]
    [InlineData("sha256=00")]
    public void A_missing_malformed_or_wrong_signature_is_invalid(string? signature)
        => Verify(Verifier(), Webhook, signature).Should().Be(SignatureVerdict.Invalid);

    [Fact]
    public void A_signature_made_with_another_secret_is_invalid()
        => Verify(Verifier(), Webhook, Sign(Payloads.Bytes("gitea", "push.json"), "other")).Should().Be(SignatureVerdict.Invalid);

    [Fact]
    public void Without_a_secret_the_region_checks_it()
        => Verify(Verifier(null), Webhook, null).Should().Be(SignatureVerdict.NotConfigured);

    [Fact]
    public void Pages_other_than_the_webhook_are_never_checked()
        => Verify(Verifier(), "/extensions/gitea/configure/", null).Should().Be(SignatureVerdict.NotConfigured);
}
