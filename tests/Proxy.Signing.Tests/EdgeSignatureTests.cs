using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace Proxy.Signing.Tests;

public class EdgeSignatureTests
{
    // The worked example of docs/EDGE-SIGNING.md: change one, change the other.
    private const string ExampleSecret = "example-edge-signing-secret-0123456789abcdef";
    private const long ExampleTime = 1767225600; // 2026-01-01T00:00:00Z
    private const string ExamplePath = "/extensions/github/webhook/?via=edge";
    private static readonly byte[] ExampleBody = Encoding.UTF8.GetBytes("""{"zen":"Keep it logically awesome."}""");
    private const string ExampleHeader = "t=1767225600,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51";

    private static readonly EdgeSigningKey K1 = new("k1", ExampleSecret);
    private static readonly EdgeSigningKey K2 = new("k2", "a-second-edge-signing-secret-for-rotation-0001");

    private static FakeTimeProvider ClockAt(long unixSeconds) => new(DateTimeOffset.FromUnixTimeSeconds(unixSeconds));

    private static EdgeSignatureVerifier Verifier(long now, params EdgeSigningKey[] keys)
        => new(keys.Length == 0 ? [K1] : keys, TimeSpan.FromMinutes(5), ClockAt(now));

    [Fact]
    public void The_worked_example_gives_the_documented_message_and_header()
    {
        var hash = System.Security.Cryptography.SHA256.HashData(ExampleBody);

        EdgeSignature.CanonicalMessage(ExampleTime, "POST", ExamplePath, hash).Should()
            .Be("1767225600.POST./extensions/github/webhook/?via=edge.0252d04b81792d637d82235c2e3f2f5a1aef4939830565eee2aec25d37681212");
        new EdgeSigner([K1]).Sign(ExampleTime, "POST", ExamplePath, ExampleBody).Should().Be(ExampleHeader);
    }

    [Fact]
    public void The_worked_example_verifies_and_names_its_key()
    {
        var result = Verifier(ExampleTime + 10).Verify(ExampleHeader, "POST", ExamplePath, ExampleBody);

        result.IsValid.Should().BeTrue();
        result.KeyId.Should().Be("k1");
        result.Timestamp.Should().Be(ExampleTime);
    }

    [Fact]
    public void Signing_with_a_precomputed_body_hash_is_the_same_as_signing_the_body()
    {
        var signer = new EdgeSigner([K1]);

        signer.SignBodyHash(ExampleTime, "POST", ExamplePath, System.Security.Cryptography.SHA256.HashData(ExampleBody))
            .Should().Be(signer.Sign(ExampleTime, "POST", ExamplePath, ExampleBody));
    }

    [Theory]
    [InlineData("PUT", ExamplePath, """{"zen":"Keep it logically awesome."}""")]
    [InlineData("POST", "/extensions/github/webhook/?via=other", """{"zen":"Keep it logically awesome."}""")]
    [InlineData("POST", "/extensions/github/webhook/", """{"zen":"Keep it logically awesome."}""")]
    [InlineData("POST", ExamplePath, """{"zen":"Keep it logically awesome!"}""")]
    [InlineData("POST", ExamplePath, "")]
    public void Any_change_to_method_target_or_body_is_a_mismatch(string method, string path, string body)
    {
        var result = Verifier(ExampleTime).Verify(ExampleHeader, method, path, Encoding.UTF8.GetBytes(body));

        result.Failure.Should().Be(EdgeSignatureFailure.Mismatch);
        result.IsValid.Should().BeFalse();
    }

    [Theory]
    [InlineData(-300, true)]
    [InlineData(300, true)]
    [InlineData(-301, false)]
    [InlineData(301, false)]
    [InlineData(86400, false)]
    public void The_timestamp_must_be_within_the_tolerance_either_way(long offset, bool valid)
    {
        var result = Verifier(ExampleTime + offset).Verify(ExampleHeader, "POST", ExamplePath, ExampleBody);

        result.Failure.Should().Be(valid ? EdgeSignatureFailure.None : EdgeSignatureFailure.OutsideWindow);
    }

    [Fact]
    public void A_verifier_holding_both_keys_accepts_either_while_one_holding_the_old_key_refuses_the_new()
    {
        var byNew = new EdgeSigner([K2, K1]).Sign(ExampleTime, "POST", ExamplePath, ExampleBody);
        var byOld = new EdgeSigner([K1]).Sign(ExampleTime, "POST", ExamplePath, ExampleBody);
        var rotating = Verifier(ExampleTime, K1, K2);

        byNew.Should().StartWith("t=1767225600,k=k2,v1=", "the first key of the list signs");
        rotating.Verify(byNew, "POST", ExamplePath, ExampleBody).IsValid.Should().BeTrue();
        rotating.Verify(byOld, "POST", ExamplePath, ExampleBody).IsValid.Should().BeTrue();
        Verifier(ExampleTime, K1).Verify(byNew, "POST", ExamplePath, ExampleBody).Failure.Should().Be(EdgeSignatureFailure.UnknownKey);
    }

    [Fact]
    public void A_header_naming_a_known_key_but_made_with_another_secret_is_a_mismatch()
    {
        var forged = new EdgeSigner([new EdgeSigningKey("k1", "an-attacker-guess-at-the-secret-0000000000")])
            .Sign(ExampleTime, "POST", ExamplePath, ExampleBody);

        Verifier(ExampleTime).Verify(forged, "POST", ExamplePath, ExampleBody).Failure.Should().Be(EdgeSignatureFailure.Mismatch);
    }

    [Fact]
    public void Upper_case_hex_and_spaces_around_fields_and_unknown_fields_are_accepted()
    {
        var header = " t=1767225600 , k=k1 ,v2=future, v1=" + ExampleHeader[^64..].ToUpperInvariant();

        Verifier(ExampleTime).Verify(header, "POST", ExamplePath, ExampleBody).IsValid.Should().BeTrue();
    }

    [Theory]
    [InlineData(null, EdgeSignatureFailure.Missing)]
    [InlineData("", EdgeSignatureFailure.Missing)]
    [InlineData("garbage", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k1", EdgeSignatureFailure.Malformed)]
    [InlineData("k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,t=1767225600,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k1,k=k2,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51,v1=00", EdgeSignatureFailure.Malformed)]
    [InlineData("t=-1767225600,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=+1767225600,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1.7e9,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=99999999999999999999999,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k 1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b5", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b511", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k1,v1=g724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,,k=k1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.Malformed)]
    [InlineData("t=1767225600,k=k9,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.UnknownKey)]
    [InlineData("t=1767225600,k=K1,v1=c724588dfb0ac406c17c959110774b78853415d36b8ee877b9dd334ff8804b51", EdgeSignatureFailure.UnknownKey)]
    public void Hostile_or_broken_headers_are_refused_with_a_reason(string? header, EdgeSignatureFailure failure)
        => Verifier(ExampleTime).Verify(header, "POST", ExamplePath, ExampleBody).Failure.Should().Be(failure);

    [Fact]
    public void Generated_garbage_never_throws_and_never_verifies()
    {
        var random = new Random(20260101);
        var verifier = Verifier(ExampleTime);
        const string alphabet = "tkv1=,0123456789abcdef \u0000\u00e9\ud800-_.";
        for (var i = 0; i < 5000; i++)
        {
            var chars = new char[random.Next(0, 200)];
            for (var c = 0; c < chars.Length; c++)
            {
                chars[c] = alphabet[random.Next(alphabet.Length)];
            }

            verifier.Verify(new string(chars), "POST", ExamplePath, ExampleBody).IsValid.Should().BeFalse();
        }

        verifier.Verify(new string('a', 100_000), "POST", ExamplePath, ExampleBody).Failure.Should().Be(EdgeSignatureFailure.Malformed);
        verifier.Verify(ExampleHeader, null!, null!, ExampleBody).Failure.Should().Be(EdgeSignatureFailure.Malformed);
    }

    [Fact]
    public void Key_lists_are_validated_with_messages_naming_the_entry()
    {
        var errors = EdgeSigningKey.Validate([
            new EdgeSigningKey("k1", "too-short"),
            new EdgeSigningKey("k,1", ExampleSecret),
            new EdgeSigningKey("k3", ExampleSecret),
            new EdgeSigningKey("k3", ExampleSecret),
            null,
        ], "Signing:Keys");

        errors.Should().BeEquivalentTo(
            "Signing:Keys:0:Secret must be at least 32 bytes of UTF-8 (was 9).",
            "Signing:Keys:1:Id must be 1 to 64 letters, digits, '.', '_' or '-' (was 'k,1').",
            "Signing:Keys:3:Id 'k3' is used by an earlier key; ids must be unique.",
            "Signing:Keys:4 is empty; give it an Id and a Secret.");
        EdgeSigningKey.Validate([K1, K2]).Should().BeEmpty();
        FluentActions.Invoking(() => new EdgeSigner([])).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new EdgeSignatureVerifier([new EdgeSigningKey("k1", "short")])).Should().Throw<ArgumentException>()
            .WithMessage("*Secret must be at least 32 bytes*");
    }
}
