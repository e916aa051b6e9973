using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Proxy.Signing;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// Silos that trust the edge: every stub verifies <c>X-Edge-Signature</c> with Proxy.Signing, as a region silo would,
/// and answers 401 when it does not verify. Every way a request leaves the proxy must pass.
/// </summary>
public sealed class EdgeSigningEndToEndTests : IAsyncLifetime
{
    private const string OldSecret = "old-edge-signing-secret-for-the-tests-000001";
    private const string NewSecret = "new-edge-signing-secret-for-the-tests-000002";
    private static readonly EdgeSigningKey OldKey = new("k1", OldSecret);
    private static readonly EdgeSigningKey NewKey = new("k2", NewSecret);

    private static readonly string[] OneKey = ["Signing:Keys:0:Id=k1", $"Signing:Keys:0:Secret={OldSecret}"];

    private static readonly string[] Rotated =
        ["Signing:Keys:0:Id=k2", $"Signing:Keys:0:Secret={NewSecret}", "Signing:Keys:1:Id=k1", $"Signing:Keys:1:Secret={OldSecret}"];

    private static readonly Dictionary<string, string> Spoofed = new() { ["X-Edge-Signature"] = "t=1,k=k1,v1=" + new string('0', 64) };

    // The silos' clock: the proxy signs with the real one, a replay is made by moving this one on.
    private readonly FakeTimeProvider _siloClock = new(DateTimeOffset.UtcNow);
    private SiloStub _hooks = null!;

    public async ValueTask InitializeAsync() => _hooks = await SiloStub.StartAsync("slack-hooks");

    public async ValueTask DisposeAsync() => await _hooks.DisposeAsync();

    private Task<ProxyHarness> StartAsync(string[] keys)
        => ProxyHarness.StartAsync(null,
            [.. keys, $"Providers:slack:ResponseUrlPrefixes:0={_hooks.Address}", "Mailbox:PollIntervalSeconds=0.05"]);

    /// <summary>Makes every silo of the harness verify with <paramref name="verifier"/> and refuse with 401 what fails.</summary>
    private static void Verifying(ProxyHarness proxy, EdgeSignatureVerifier verifier)
    {
        foreach (var silo in proxy.Regions.Values.Append(proxy.Control))
        {
            silo.Answer = (request, _) => Verify(verifier, request).IsValid ? new StubAnswer() : new StubAnswer(401);
        }
    }

    private static EdgeSignatureResult Verify(EdgeSignatureVerifier verifier, RecordedRequest request)
        => verifier.Verify(request.Header(EdgeSignature.HeaderName), request.Method, request.RawTarget!, request.Body);

    private static void AllVerify(EdgeSignatureVerifier verifier, IEnumerable<RecordedRequest> requests, string keyId, string because)
    {
        var list = requests.ToList();
        list.Should().NotBeEmpty(because);
        foreach (var request in list)
        {
            var result = Verify(verifier, request);
            result.Failure.Should().Be(EdgeSignatureFailure.None, $"{because}: {request.Method} {request.RawTarget}");
            result.KeyId.Should().Be(keyId);
        }
    }

    private static string Action(string team)
        => "payload=" + Uri.EscapeDataString($$"""{"type":"block_actions","team":{"id":"{{team}}"},"actions":[{"type":"button","value":"resolve"}]}""");

    private static Task<HttpResponseMessage> PostForm(ProxyHarness proxy, string path, string form)
        => proxy.PostAsync(path, Encoding.UTF8.GetBytes(form), "application/x-www-form-urlencoded", Spoofed);

    [Fact]
    public async Task Every_way_out_is_signed_and_a_silo_verifying_with_Proxy_Signing_accepts_it()
    {
        await using var proxy = await StartAsync(OneKey);
        var verifier = new EdgeSignatureVerifier([OldKey], time: _siloClock);
        Verifying(proxy, verifier);

        // First region (YARP forward): eu alone holds TEU.
        (await PostForm(proxy, "/extensions/slack/commands/?trace=1", "team_id=TEU&command=%2Fsentry")).StatusCode.Should().Be(HttpStatusCode.OK);
        AllVerify(verifier, proxy.Regions["eu"].Requests, "k1", "first region");

        // Fan-out: every region sees the block action.
        (await PostForm(proxy, "/extensions/slack/action/", Action("TALL"))).StatusCode.Should().Be(HttpStatusCode.OK);
        foreach (var region in new[] { "ap", "us" })
        {
            AllVerify(verifier, await proxy.Regions[region].WaitForRequestsAsync(1), "k1", $"fan-out to {region}");
        }

        // Control (YARP forward): a challenge with a body, an install page with a query and no body.
        (await proxy.PostAsync("/extensions/slack/event/", """{"type":"url_verification","challenge":"c1"}"""u8.ToArray(),
            "application/json", Spoofed)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await proxy.Client.GetAsync("/extensions/github/setup/?installation_id=2&state=a%20b")).StatusCode.Should().Be(HttpStatusCode.OK);
        AllVerify(verifier, proxy.Control.Requests, "k1", "control");
        proxy.Control.Requests.Should().HaveCount(2);

        // Deferred: us holds TUS; the region's answer reaches the response_url only if us accepted the signed leg.
        var hook = new Uri(_hooks.Address, "commands/1").ToString();
        (await PostForm(proxy, "/extensions/slack/commands/", $"team_id=TUS&command=%2Fsentry&response_url={Uri.EscapeDataString(hook)}"))
            .StatusCode.Should().Be(HttpStatusCode.OK);
        (await _hooks.WaitForRequestsAsync(1)).Should().ContainSingle()
            .Which.Body.Should().Equal(Encoding.UTF8.GetBytes("""{"answeredBy":"us"}"""), "us accepted the deferred leg");

        // Mailbox: GitHub installation 2 belongs to eu and us; each delivery is signed when it is sent.
        var push = """{"ref":"refs/heads/main","repository":{"id":7},"installation":{"id":2}}"""u8.ToArray();
        (await proxy.PostAsync("/extensions/github/webhook/", push, "application/json", new Dictionary<string, string>(Spoofed)
        {
            ["X-GitHub-Event"] = "push",
            ["X-GitHub-Delivery"] = Guid.NewGuid().ToString(),
        })).StatusCode.Should().Be(HttpStatusCode.Accepted);
        var eu = (await proxy.Regions["eu"].WaitForRequestsAsync(3)).Where(r => r.RawTarget == "/extensions/github/webhook/").ToList();
        var us = (await proxy.Regions["us"].WaitForRequestsAsync(3)).Where(r => r.RawTarget == "/extensions/github/webhook/").ToList();
        AllVerify(verifier, eu.Concat(us), "k1", "mailbox deliveries");
        eu.Should().ContainSingle("a 401 would have been a delivery refused (and dropped), not a second attempt");
        eu[0].Body.Should().Equal(push);

        // A plain route (YARP forward, streamed body): read for signing, still delivered byte for byte.
        var plain = Encoding.UTF8.GetBytes(new string('x', 70_000));
        (await proxy.PostAsync("/plain/upload?a=1", plain, "application/octet-stream", Spoofed)).StatusCode.Should().Be(HttpStatusCode.OK);
        var upload = proxy.Regions["eu"].Requests.Should().ContainSingle(r => r.RawTarget == "/plain/upload?a=1").Subject;
        upload.Body.Should().Equal(plain);
        AllVerify(verifier, [upload], "k1", "plain route");

        foreach (var request in proxy.Regions.Values.SelectMany(r => r.Requests).Concat(proxy.Control.Requests))
        {
            request.Header(EdgeSignature.HeaderName).Should().NotContain("t=1,", "the sender's copy never reaches a silo");
        }
    }

    [Fact]
    public async Task A_silo_refuses_a_direct_unsigned_request_and_a_replay_outside_its_window()
    {
        await using var proxy = await StartAsync(OneKey);
        var verifier = new EdgeSignatureVerifier([OldKey], TimeSpan.FromMinutes(5), _siloClock);
        Verifying(proxy, verifier);
        var eu = proxy.Regions["eu"];
        (await PostForm(proxy, "/extensions/slack/commands/", "team_id=TEU&command=%2Fsentry")).StatusCode.Should().Be(HttpStatusCode.OK);
        var signed = eu.Requests.Should().ContainSingle().Subject;
        using var direct = new HttpClient { BaseAddress = eu.Address };

        HttpRequestMessage Replay(bool withSignature)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, signed.RawTarget) { Content = new ByteArrayContent(signed.Body) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", signed.Header("Content-Type"));
            if (withSignature)
            {
                request.Headers.TryAddWithoutValidation(EdgeSignature.HeaderName, signed.Header(EdgeSignature.HeaderName));
            }

            return request;
        }

        (await direct.SendAsync(Replay(withSignature: false))).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "nothing signed it");
        Verify(verifier, eu.Requests[^1]).Failure.Should().Be(EdgeSignatureFailure.Missing);

        var tampered = Replay(withSignature: true);
        tampered.Content = new ByteArrayContent([.. signed.Body, (byte)'&']);
        (await direct.SendAsync(tampered)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        Verify(verifier, eu.Requests[^1]).Failure.Should().Be(EdgeSignatureFailure.Mismatch);

        (await direct.SendAsync(Replay(withSignature: true))).StatusCode.Should().Be(HttpStatusCode.OK,
            "inside the window a copy verifies: replays within it are what duplicate suppression is for");
        _siloClock.Advance(TimeSpan.FromMinutes(6));
        (await direct.SendAsync(Replay(withSignature: true))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        Verify(verifier, eu.Requests[^1]).Failure.Should().Be(EdgeSignatureFailure.OutsideWindow);
    }

    [Fact]
    public async Task During_a_rotation_the_proxy_signs_with_the_new_first_key_and_a_silo_knowing_both_accepts_it()
    {
        await using var proxy = await StartAsync(Rotated);
        var both = new EdgeSignatureVerifier([OldKey, NewKey], time: _siloClock);
        var oldOnly = new EdgeSignatureVerifier([OldKey], time: _siloClock);
        Verifying(proxy, both);

        (await PostForm(proxy, "/extensions/slack/commands/", "team_id=TEU&command=%2Fsentry")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await PostForm(proxy, "/extensions/slack/action/", Action("TALL"))).StatusCode.Should().Be(HttpStatusCode.OK);

        var received = (await proxy.Regions["us"].WaitForRequestsAsync(1)).Concat(proxy.Regions["eu"].Requests).ToList();
        AllVerify(both, received, "k2", "the first key of Signing:Keys signs");
        received.Should().OnlyContain(r => Verify(oldOnly, r).Failure == EdgeSignatureFailure.UnknownKey,
            "a silo that was not given the new key yet refuses it, which is why silos learn a key before the proxy signs with it");
    }

    [Fact]
    public async Task Directory_calls_to_the_control_silo_are_signed_too()
    {
        await using var control = await ControlDirectoryStub.StartAsync();
        control.SetOrganization(1, "eu");
        control.SetIntegration(10, "slack", "T1", "active", 1);
        await using var proxy = await ProxyHarness.StartWithControlDirectoryAsync(control, ["Directory:Source=Control", .. OneKey]);

        (await PostForm(proxy, "/extensions/slack/commands/", "team_id=T1&command=%2Fsentry")).StatusCode.Should().Be(HttpStatusCode.OK);

        AllVerify(new EdgeSignatureVerifier([OldKey], time: _siloClock), control.DirectoryRequests, "k1", "directory lookups");
        AllVerify(new EdgeSignatureVerifier([OldKey], time: _siloClock), proxy.Regions["eu"].Requests, "k1", "the command itself");
    }

    [Fact]
    public async Task Without_keys_nothing_is_signed()
    {
        await using var proxy = await StartAsync([]);

        (await PostForm(proxy, "/extensions/slack/action/", Action("TALL"))).StatusCode.Should().Be(HttpStatusCode.OK);

        var all = new List<RecordedRequest>();
        foreach (var region in proxy.Regions.Values)
        {
            all.AddRange(await region.WaitForRequestsAsync(1));
        }

        all.Should().HaveCount(3).And.OnlyContain(r => r.Header(EdgeSignature.HeaderName) == null, "and the sender's copy is stripped");
    }
}
