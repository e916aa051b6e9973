using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Proxy.Routing.Signatures;

namespace Proxy.Routing.Tests.Signatures;

public class SlackSignatureVerifierTests
{
    private const string Secret = "8f742231b10e8888abcd99yyyzzz85a5";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_531_420_618);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070");

    private static SlackSignatureVerifier Verifier(params string[] secrets)
    {
        var options = new ProviderSecretsOptions();
        if (secrets.Length > 0)
        {
            var secret = new ProviderSecret { SigningSecret = secrets[0] };
            secret.PreviousSigningSecrets.AddRange(secrets[1..]);
            options.Providers["slack"] = secret;
        }

        return new SlackSignatureVerifier(new StaticOptionsMonitor<ProviderSecretsOptions>(options));
    }

    private static string Sign(string secret, long timestamp, byte[] body)
    {
        var message = Encoding.ASCII.GetBytes($"v0:{timestamp}:").Concat(body).ToArray();
        return "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    private static Proxy.Routing.Requests.WebhookRequest Signed(string signature, long timestamp)
        => Payloads.Request("/extensions/slack/commands/", Body, "application/x-www-form-urlencoded", new Dictionary<string, string>
        {
            ["X-Slack-Request-Timestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["X-Slack-Signature"] = signature,
        });

    [Fact]
    public void Without_a_secret_the_edge_does_not_judge()
        => Verifier().Verify("slack", Signed("v0=00", 1), Now, out _).Should().Be(SignatureVerdict.NotConfigured);

    [Fact]
    public void A_correct_signature_is_valid()
    {
        var ts = Now.ToUnixTimeSeconds();

        Verifier(Secret).Verify("slack", Signed(Sign(Secret, ts, Body), ts), Now, out _).Should().Be(SignatureVerdict.Valid);
    }

    [Fact]
    public void A_previous_secret_is_accepted_during_rotation()
    {
        var ts = Now.ToUnixTimeSeconds();

        Verifier("new-secret", Secret).Verify("slack", Signed(Sign(Secret, ts, Body), ts), Now, out _)
            .Should().Be(SignatureVerdict.Valid);
    }

    [Fact]
    public void A_signature_over_other_bytes_is_invalid()
    {
        var ts = Now.ToUnixTimeSeconds();
        var signature = Sign(Secret, ts, Encoding.UTF8.GetBytes("team_id=T0001"));

        Verifier(Secret).Verify("slack", Signed(signature, ts), Now, out var reason).Should().Be(SignatureVerdict.Invalid);
        reason.Should().Contain("does not match");
    }

    [Fact]
    public void An_old_timestamp_is_a_replay()
    {
        var ts = Now.ToUnixTimeSeconds() - 301;

        Verifier(Secret).Verify("slack", Signed(Sign(Secret, ts, Body), ts), Now, out var reason).Should().Be(SignatureVerdict.Invalid);
        reason.Should().Contain("clock skew");
    }

    [Theory]
    [InlineData("v1=abcdef")]
    [InlineData("v0=not-hex")]
    public void Malformed_signatures_are_invalid(string signature)
        => Verifier(Secret).Verify("slack", Signed(signature, Now.ToUnixTimeSeconds()), Now, out _).Should().Be(SignatureVerdict.Invalid);
}

internal sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

public class GitHubSignatureVerifierTests
{
    private static GitHubSignatureVerifier Verifier(string? secret)
    {
        var options = new ProviderSecretsOptions();
        if (secret is not null)
        {
            options.Providers["github"] = new ProviderSecret { SigningSecret = secret };
        }

        return new GitHubSignatureVerifier(new StaticOptionsMonitor<ProviderSecretsOptions>(options));
    }

    private static Proxy.Routing.Requests.WebhookRequest Request(string? signature)
        => Payloads.Request("/extensions/github/webhook/", Encoding.UTF8.GetBytes("Hello, World!"), "application/json",
            signature is null ? null : new Dictionary<string, string> { ["X-Hub-Signature-256"] = signature });

    [Fact]
    public void GitHubs_documented_example_verifies()
    {
        // The example from GitHub's "validating webhook deliveries" documentation.
        const string signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

        Verifier("It's a Secret to Everybody").Verify("github", Request(signature), DateTimeOffset.UnixEpoch, out _)
            .Should().Be(SignatureVerdict.Valid);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("sha1=757107ea0eb2509fc211221cce984b8a37570b6d")]
    [InlineData("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    public void Missing_or_wrong_signatures_are_invalid(string? signature)
        => Verifier("It's a Secret to Everybody").Verify("github", Request(signature), DateTimeOffset.UnixEpoch, out _)
            .Should().Be(SignatureVerdict.Invalid);

    [Fact]
    public void Without_a_secret_the_edge_does_not_judge()
        => Verifier(null).Verify("github", Request(null), DateTimeOffset.UnixEpoch, out _).Should().Be(SignatureVerdict.NotConfigured);
}
