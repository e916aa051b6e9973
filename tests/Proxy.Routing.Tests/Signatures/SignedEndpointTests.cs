using System.Text;
using Proxy.Routing.Signatures;

namespace Proxy.Routing.Tests.Signatures;

/// <summary>
/// Which endpoints are signature-checked: only those the provider signs. Browser pages (identity links, installation
/// callbacks, configuration) never carry a signature and are never judged, whatever secret is set.
/// </summary>
public class SignedEndpointTests
{
    private static SignatureRegistry Registry()
    {
        var options = new ProviderSecretsOptions();
        options.Providers["slack"] = new ProviderSecret { SigningSecret = "slack-secret" };
        options.Providers["github"] = new ProviderSecret { SigningSecret = "github-secret" };
        options.Providers["github_enterprise"] = new ProviderSecret { SigningSecret = "ghe-secret" };
        options.Providers["discord"] = new ProviderSecret { PublicKey = new string('0', 64) };
        var monitor = new StaticOptionsMonitor<ProviderSecretsOptions>(options);
        return new SignatureRegistry([new SlackSignatureVerifier(monitor), new GitHubSignatureVerifier(monitor), new DiscordSignatureVerifier(monitor)]);
    }

    [Theory]
    [InlineData("slack", "/extensions/slack/link-identity/abc:def:ghi/", SignatureVerdict.NotSigned)]
    [InlineData("slack", "/extensions/slack/unlink-identity/abc:def:ghi/", SignatureVerdict.NotSigned)]
    [InlineData("slack", "/extensions/slack/commands/", SignatureVerdict.Invalid)]
    [InlineData("slack", "/extensions/slack/action/", SignatureVerdict.Invalid)]
    [InlineData("slack", "/extensions/slack/event/", SignatureVerdict.Invalid)]
    [InlineData("slack", "/extensions/slack/options-load/", SignatureVerdict.Invalid)]
    [InlineData("discord", "/extensions/discord/link-identity/abc/", SignatureVerdict.NotSigned)]
    [InlineData("discord", "/extensions/discord/unlink-identity/abc/", SignatureVerdict.NotSigned)]
    [InlineData("discord", "/extensions/discord/configure/", SignatureVerdict.NotSigned)]
    [InlineData("discord", "/extensions/discord/interactions/", SignatureVerdict.Invalid)]
    [InlineData("github", "/extensions/github/installation/callback/", SignatureVerdict.NotSigned)]
    [InlineData("github", "/extensions/github/webhook/", SignatureVerdict.Invalid)]
    [InlineData("github_enterprise", "/extensions/github-enterprise/webhook/", SignatureVerdict.Invalid)]
    [InlineData("github_enterprise", "/extensions/github-enterprise/webhook/github-com/", SignatureVerdict.Invalid)]
    [InlineData("github_enterprise", "/extensions/github-enterprise/installation/callback/", SignatureVerdict.NotSigned)]
    [InlineData("gitlab", "/extensions/gitlab/webhook/", SignatureVerdict.NotConfigured)]
    public void Only_the_endpoints_the_provider_signs_are_judged(string provider, string path, SignatureVerdict expected)
        => Registry().Verify(provider, Payloads.Request(path, Encoding.UTF8.GetBytes("{}"), "application/json"), DateTimeOffset.UnixEpoch, out _)
            .Should().Be(expected);

    [Fact]
    public void GitHub_Enterprise_is_checked_with_its_own_secret()
    {
        var body = Encoding.UTF8.GetBytes("{}");
        var signature = "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("ghe-secret"u8, body));
        var headers = new Dictionary<string, string> { ["X-Hub-Signature-256"] = signature };

        Registry().Verify("github_enterprise", Payloads.Request("/extensions/github-enterprise/webhook/", body, "application/json", headers),
            DateTimeOffset.UnixEpoch, out _).Should().Be(SignatureVerdict.Valid);
        Registry().Verify("github", Payloads.Request("/extensions/github/webhook/", body, "application/json", headers),
            DateTimeOffset.UnixEpoch, out _).Should().Be(SignatureVerdict.Invalid, "the GitHub secret is another one");
    }
}
