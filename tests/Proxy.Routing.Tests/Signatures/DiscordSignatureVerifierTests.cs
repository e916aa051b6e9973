using System.Text;
using NSec.Cryptography;
using Proxy.Routing.Signatures;

namespace Proxy.Routing.Tests.Signatures;

public sealed class DiscordSignatureVerifierTests : IDisposable
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":1,"id":"1","application_id":"775799577604948031"}""");
    private readonly Key _key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

    private DiscordSignatureVerifier Verifier(string? publicKey = null)
    {
        var options = new ProviderSecretsOptions();
        options.Providers["discord"] = new ProviderSecret
        {
            PublicKey = publicKey ?? Convert.ToHexStringLower(_key.PublicKey.Export(KeyBlobFormat.RawPublicKey)),
        };
        return new DiscordSignatureVerifier(new StaticOptionsMonitor<ProviderSecretsOptions>(options));
    }

    private string Sign(string timestamp, byte[] body)
        => Convert.ToHexStringLower(SignatureAlgorithm.Ed25519.Sign(_key, Encoding.UTF8.GetBytes(timestamp).Concat(body).ToArray()));

    private static Proxy.Routing.Requests.WebhookRequest Request(string? signature, string? timestamp, byte[]? body = null)
    {
        var headers = new Dictionary<string, string>();
        if (signature is not null)
        {
            headers["X-Signature-Ed25519"] = signature;
        }

        if (timestamp is not null)
        {
            headers["X-Signature-Timestamp"] = timestamp;
        }

        return Payloads.Request("/extensions/discord/interactions/", body ?? Body, "application/json", headers);
    }

    [Fact]
    public void A_signature_made_with_the_applications_key_is_valid()
        => Verifier().Verify("discord", Request(Sign("1700000000", Body), "1700000000"), DateTimeOffset.UnixEpoch, out _)
            .Should().Be(SignatureVerdict.Valid);

    [Fact]
    public void A_signature_over_another_timestamp_or_body_is_invalid()
    {
        var verifier = Verifier();

        verifier.Verify("discord", Request(Sign("1700000000", Body), "1700000001"), DateTimeOffset.UnixEpoch, out _)
            .Should().Be(SignatureVerdict.Invalid);
        verifier.Verify("discord", Request(Sign("1700000000", Body), "1700000000", [.. Body, (byte)' ']), DateTimeOffset.UnixEpoch, out _)
            .Should().Be(SignatureVerdict.Invalid);
    }

    [Theory]
    [InlineData(null, "1700000000")]
    [InlineData("abcd", null)]
    [InlineData("not-hex", "1700000000")]
    [InlineData("00", "1700000000")]
    public void Missing_or_malformed_signatures_are_invalid(string? signature, string? timestamp)
        => Verifier().Verify("discord", Request(signature, timestamp), DateTimeOffset.UnixEpoch, out _).Should().Be(SignatureVerdict.Invalid);

    [Theory]
    [InlineData("abcd")]
    [InlineData("zz")]
    public void A_misconfigured_public_key_rejects_instead_of_failing(string publicKey)
        => Verifier(publicKey).Verify("discord", Request(Sign("1", Body), "1"), DateTimeOffset.UnixEpoch, out _)
            .Should().Be(SignatureVerdict.Invalid);

    [Fact]
    public void Without_a_public_key_the_edge_does_not_judge()
        => Verifier("").Verify("discord", Request(null, null), DateTimeOffset.UnixEpoch, out _).Should().Be(SignatureVerdict.NotConfigured);

    public void Dispose() => _key.Dispose();
}
