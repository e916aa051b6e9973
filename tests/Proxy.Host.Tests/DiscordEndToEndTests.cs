using System.Net;
using System.Text;
using NSec.Cryptography;

namespace Proxy.Host.Tests;

/// <summary>Discord interactions through the proxy, with the Ed25519 signature checked at the edge.</summary>
public sealed class DiscordEndToEndTests : IDisposable
{
    private readonly Key _key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

    private string PublicKey => Convert.ToHexStringLower(_key.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    private Task<HttpResponseMessage> SendAsync(ProxyHarness proxy, string json, bool sign = true)
    {
        var body = Encoding.UTF8.GetBytes(json);
        const string timestamp = "1700000000";
        var signature = sign
            ? Convert.ToHexStringLower(SignatureAlgorithm.Ed25519.Sign(_key, [.. Encoding.UTF8.GetBytes(timestamp), .. body]))
            : new string('0', 128);
        return proxy.PostAsync("/extensions/discord/interactions/", body, "application/json", new Dictionary<string, string>
        {
            ["X-Signature-Ed25519"] = signature,
            ["X-Signature-Timestamp"] = timestamp,
        });
    }

    [Fact]
    public async Task A_badly_signed_interaction_gets_401_at_the_edge_and_reaches_no_silo()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, $"Providers:discord:PublicKey={PublicKey}");

        var response = await SendAsync(proxy, """{"type":1}""", sign: false);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        proxy.Control.Requests.Should().BeEmpty();
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task Signed_pings_go_to_control_commands_to_the_first_region_and_components_to_every_region()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, $"Providers:discord:PublicKey={PublicKey}");

        (await SendAsync(proxy, """{"type":1}""")).Headers.GetValues("X-Proxy-Region").Should().Equal("control");
        (await SendAsync(proxy, """{"type":2,"guild_id":"290926798626357999","data":{"name":"status"}}"""))
            .Headers.GetValues("X-Proxy-Region").Should().Equal("ap");
        (await SendAsync(proxy, """{"type":3,"guild_id":"290926798626357999","data":{"custom_id":"resolve:1"}}"""))
            .StatusCode.Should().Be(HttpStatusCode.OK);

        (await proxy.Regions["ap"].WaitForRequestsAsync(2)).Should().HaveCount(2);
        (await proxy.Regions["eu"].WaitForRequestsAsync(1)).Should().ContainSingle();
        proxy.Regions["us"].Requests.Should().BeEmpty();
    }

    public void Dispose() => _key.Dispose();
}
