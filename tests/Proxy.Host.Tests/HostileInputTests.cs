using System.Text;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// The proxy as the one public address: thousands of generated hostile requests over every provider's endpoints, valid
/// webhooks interleaved. Nothing may answer 500, every error the application writes is problem+json, the proxy keeps
/// serving, memory comes back, and every valid webhook still reaches the right place.
/// </summary>
public class HostileInputTests
{
    private const int HostileRequests = 10_000;
    private const int Seed = 20261202;

    /// <summary>Statuses Kestrel itself answers for broken HTTP, before the application runs; they carry no body.</summary>
    private static readonly HashSet<int> ProtocolStatuses = [400, 408, 413, 414, 431, 505];

    private static readonly string[] JsonEndpoints =
    [
        "/extensions/slack/event/", "/extensions/discord/interactions/", "/extensions/github/webhook/",
        "/extensions/github-enterprise/webhook/", "/extensions/gitlab/webhook/", "/extensions/jira/issue-updated/",
        "/extensions/jira-server/issue-updated/eyJhbGciOiJIUzI1NiJ9.eyJpZCI6MX0.x/", "/extensions/vsts/issue-updated/",
        "/extensions/msteams/webhook/", "/extensions/vercel/webhook/", "/extensions/google/webhook/",
        "/extensions/bitbucket/organizations/2/webhook/", "/extensions/bitbucket-server/organizations/2/webhook/7/",
        "/extensions/gitea/organizations/2/webhook/20/", "/plugins/github/organizations/2/webhook/",
    ];

    private static readonly string[] FormEndpoints =
        ["/extensions/slack/commands/", "/extensions/slack/action/", "/extensions/slack/options-load/"];

    private static readonly string[] JsonSamples =
    [
        """{"type":"event_callback","team_id":"TEU","event":{"type":"message","text":"hi"}}""",
        """{"type":2,"guild_id":"290926798626357999","data":{"name":"link"}}""",
        """{"action":"opened","installation":{"id":2},"repository":{"id":1}}""",
        """{"object_kind":"push","project":{"id":1}}""",
        """{"issue":{"id":"10001","key":"ABC-1"},"webhookEvent":"jira:issue_updated"}""",
        """{"type":"message","channelData":{"tenant":{"id":"t1"}},"id":"a1"}""",
    ];

    private static readonly string[] HostileJson =
    [
        """{"team_id":"\ud800"}""", """{"team_id":"\udc00x"}""", """{"installation":{"id":"\udc00"}}""",
        """{"type":"2","guild_id":"G1"}""", """{"type":null,"guild_id":"G1"}""", """{"type":1e400,"guild_id":"G1"}""",
        """{"type":[],"guild_id":"G1"}""", """{"type":true}""", """{"team_id":"\uZZZZ"}""", """{"team_id":"a\u0000b"}""",
        """{"installation":{"id":1e999}}""", """{"installation":{"id":-1}}""", """{"installation":[]}""",
        """{"team":{"id":{"id":"x"}}}""", """{"object_kind":{"a":1}}""", "{\"team_id\":\"" + new string('T', 5000) + "\"}",
        """{"team_id":"\u0001\u0002\u0007"}""", "[]", "null", "\"text\"", "1", "{", "{\"a\":", "\uFEFF{}", "",
    ];

    [Fact]
    public async Task Ten_thousand_hostile_requests_get_no_500_and_valid_webhooks_keep_flowing()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var server = new Uri(proxy.App.Urls.First());
        var random = new Random(Seed);
        var cases = Enumerable.Range(0, HostileRequests).Select(i => Generate(random, i)).ToList();

        await SendValidAsync(proxy, -1); // warms the paths up before the baseline
        await PushesAsync(proxy, "eu", 1);
        await PushesAsync(proxy, "us", 1);
        var baseline = ManagedHeap(proxy);
        var failures = new List<string>();
        var validSent = 0;
        var next = 0;
        async Task Worker()
        {
            while (Interlocked.Increment(ref next) - 1 is var i && i < cases.Count)
            {
                var hostile = cases[i];
                var answer = await RawHttp.SendAsync(server, hostile.Bytes, hostile.CloseSend);
                var problem = Check(hostile, answer);
                if (problem is not null)
                {
                    lock (failures)
                    {
                        failures.Add($"#{i} {hostile.Family}: {problem} [{RequestLine(hostile.Bytes)}]");
                    }
                }

                if (i % 100 == 0)
                {
                    await SendValidAsync(proxy, Interlocked.Increment(ref validSent));
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(Worker)));

        var kinds = failures.GroupBy(f => f[(f.IndexOf(' ', StringComparison.Ordinal) + 1)..][..Math.Min(90, f.Length - f.IndexOf(' ', StringComparison.Ordinal) - 1)])
            .Select(g => $"{g.Count()} x {g.Key} (e.g. {g.First()[..g.First().IndexOf(' ', StringComparison.Ordinal)]})");
        failures.Should().BeEmpty("{0} requests failed:\n{1}", failures.Count, string.Join("\n", kinds));
        (await proxy.Client.GetAsync("/healthz")).IsSuccessStatusCode.Should().BeTrue();
        foreach (var region in new[] { "eu", "us" })
        {
            // Every mailboxed push reaches both of its regions.
            (await PushesAsync(proxy, region, validSent)).Should().HaveCount(validSent).And.OnlyHaveUniqueItems();
        }

        var after = ManagedHeap(proxy);
        after.Should().BeLessThan((long)(baseline * 1.2) + 4_000_000, "memory returns to its baseline after a GC");
    }

    private static async Task<IReadOnlyList<string>> PushesAsync(ProxyHarness proxy, string region, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var pushes = proxy.Regions[region].Requests.Where(r => r.Header("X-GitHub-Event") == "push")
                .Select(r => Encoding.UTF8.GetString(r.Body)).ToList();
            if (pushes.Count >= count || DateTime.UtcNow > deadline)
            {
                return pushes;
            }

            await Task.Delay(50);
        }
    }

    private static long ManagedHeap(ProxyHarness proxy)
    {
        foreach (var stub in proxy.Regions.Values.Append(proxy.Control))
        {
            stub.ClearRequests();
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>A Slack command answered by eu, and a GitHub push the mailbox delivers to eu and us.</summary>
    private static async Task SendValidAsync(ProxyHarness proxy, int marker)
    {
        var command = await proxy.PostFormAsync("/extensions/slack/commands/", $"team_id=TEU&command=%2Fsentry&text=m{marker}");
        var answer = await command.Content.ReadAsStringAsync();
        ((int)command.StatusCode).Should().Be(200, answer);
        answer.Should().Contain("\"answeredBy\":\"eu\"");

        var push = await proxy.PostJsonAsync("/extensions/github/webhook/",
            $$$"""{"ref":"refs/heads/m{{{marker}}}","installation":{"id":2},"repository":{"id":1}}""",
            new Dictionary<string, string> { ["X-GitHub-Event"] = "push", ["X-GitHub-Delivery"] = $"valid-{marker}" });
        ((int)push.StatusCode).Should().Be(202, await push.Content.ReadAsStringAsync());
    }

    private static string? Check(Hostile hostile, RawAnswer? answer)
    {
        if (answer is null)
        {
            // Kestrel may drop a connection whose framing it cannot read; the application never gets it.
            return hostile.ProtocolLevel ? null : "no answer";
        }

        if (answer.Status is 0 or >= 500 and not (502 or 503 or 504))
        {
            return $"answered {answer.Status}: {Head(answer.Body)}";
        }

        if (answer.Status >= 400)
        {
            var type = answer.Header("content-type") ?? "";
            if (hostile.Bytes.AsSpan().StartsWith("HEAD "u8))
            {
                // A HEAD answer has the headers of the GET answer and no body (RFC 9110, section 9.3.2).
                return type.StartsWith("application/problem+json", StringComparison.Ordinal) ? null : $"{answer.Status} to HEAD as '{type}'";
            }

            if (answer.Body.Length == 0)
            {
                return hostile.ProtocolLevel && ProtocolStatuses.Contains(answer.Status) ? null : $"{answer.Status} without a body";
            }

            if (!type.StartsWith("application/problem+json", StringComparison.Ordinal))
            {
                return $"{answer.Status} as '{type}': {Head(answer.Body)}";
            }
        }

        return null;
    }

    private static string RequestLine(byte[] request)
    {
        var end = Array.IndexOf(request, (byte)'\r');
        return Encoding.Latin1.GetString(request, 0, Math.Min(end < 0 ? request.Length : end, 80));
    }

    private static string Head(byte[] body) => Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(200, body.Length)));

    private sealed record Hostile(string Family, byte[] Bytes, bool CloseSend = false, bool ProtocolLevel = false);

    private static Hostile Generate(Random random, int index)
    {
        var json = JsonEndpoints[random.Next(JsonEndpoints.Length)];
        var form = FormEndpoints[random.Next(FormEndpoints.Length)];
        string[] jsonType = ["Content-Type: application/json"];
        string[] formType = ["Content-Type: application/x-www-form-urlencoded"];
        switch (index % 14)
        {
            case 0:
            {
                var sample = Encoding.UTF8.GetBytes(JsonSamples[random.Next(JsonSamples.Length)]);
                var broken = sample[..random.Next(sample.Length)];
                if (broken.Length > 0 && random.Next(2) == 0)
                {
                    broken[random.Next(broken.Length)] = (byte)random.Next(256);
                }

                return Post("broken JSON", json, jsonType, broken);
            }

            case 1:
                return Post("hostile JSON value", json, jsonType, Encoding.UTF8.GetBytes(HostileJson[random.Next(HostileJson.Length)]));
            case 2:
            {
                // Wrong content types, both ways, and types nobody sends.
                string[] types = ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "", "*/*"];
                var body = random.Next(2) == 0 ? Encoding.UTF8.GetBytes(JsonSamples[0]) : "team_id=TEU&payload=%7B%7D"u8.ToArray();
                var endpoint = random.Next(2) == 0 ? json : form;
                var type = types[random.Next(types.Length)];
                return Post("wrong content type", endpoint, type.Length == 0 ? [] : [$"Content-Type: {type}"], body);
            }

            case 3:
            {
                var depth = random.Next(65, 5000);
                var body = random.Next(2) == 0
                    ? new string('[', depth) + new string(']', depth)
                    : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                return Post("deep nesting", json, jsonType, Encoding.UTF8.GetBytes(body));
            }

            case 4:
            {
                // Invalid UTF-8 inside JSON strings and form values.
                byte[][] invalid = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82]];
                var bad = invalid[random.Next(invalid.Length)];
                return random.Next(2) == 0
                    ? Post("invalid UTF-8 (JSON)", json, jsonType, [.. "{\"team_id\":\"T"u8, .. bad, .. "\",\"installation\":{\"id\":\""u8, .. bad, .. "\"}}"u8])
                    : Post("invalid UTF-8 (form)", form, formType, [.. "team_id=T"u8, .. bad, .. "&payload=%7B%22team%22%3A%7B%22id%22%3A%22"u8, .. bad, .. "%22%7D%7D"u8]);
            }

            case 5:
            {
                string[] forms =
                [
                    "team_id=%zz", "team_id=%", "team_id=%F", "payload=%7B%", "payload=%7B%22team%22%3A%22%ud800%22%7D",
                    "payload=%7B%22team_id%22%3A%22%5Cud800%22%7D", "team_id=%00", "payload=" + new string('%', 3000), "&&&===&",
                    "team_id=TEU&team_id=TUS", "=x", "team_id=%C3%28", "payload=%5B%5D", "payload=null",
                ];
                return Post("bad percent-encoding", form, formType, Encoding.UTF8.GetBytes(forms[random.Next(forms.Length)]));
            }

            case 6:
            {
                // Header floods: too many, too large, and many small ones under the limits.
                var kind = random.Next(3);
                var headers = kind switch
                {
                    0 => Enumerable.Range(0, 150).Select(i => $"X-Flood-{i}: {i}"),
                    1 => [$"X-Big: {new string('a', 40_000)}"],
                    _ => Enumerable.Range(0, 60).Select(i => $"X-Small-{i}: {new string('b', 100)}"),
                };
                return new Hostile("header flood", RawHttp.Request("POST", json, [.. jsonType, .. headers, "Content-Length: 2"], "{}"u8.ToArray()),
                    ProtocolLevel: kind != 2);
            }

            case 7:
            {
                // Broken chunked framing: overflowing sizes, non-hex sizes, NUL in a trailer, truncated chunks.
                string[] chunked =
                [
                    "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n", "zz\r\n{}\r\n0\r\n\r\n", "2\r\n{}\r\n0\r\nX-T: a\0b\r\n\r\n",
                    "5\r\n{}", "2\r\n{}0\r\n\r\n", "2;ext=\"\0\"\r\n{}\r\n0\r\n\r\n", "-1\r\n{}\r\n0\r\n\r\n", "2\r\n{}\r\n",
                ];
                var body = chunked[random.Next(chunked.Length)];
                var target = random.Next(2) == 0 ? json : form;
                return new Hostile("broken chunked body",
                    RawHttp.Request("POST", target, [.. jsonType, "Transfer-Encoding: chunked"], Encoding.Latin1.GetBytes(body)),
                    CloseSend: true, ProtocolLevel: true);
            }

            case 8:
            {
                string[] paths =
                [
                    "/extensions/../admin/mailbox/mailboxes", "/extensions/%2e%2e/%2e%2e/readyz",
                    "//extensions//slack//event//", "/extensions/zzz/webhook/", "/extensions/", "/extensions", "/%ff%fe/",
                    "/extensions/slack/link-team/%ZZ/", "/extensions/github/webhook/?" + new string('q', 4000), "/nope",
                    "/extensions/bitbucket/organizations/99999999999999999999999/webhook/", "/extensions/bitbucket/organizations/-1/webhook/",
                    "/extensions/jira-server/issue-updated/%FF%FE/", "/extensions/slack/link-team/a:b:c/",
                ];
                var roll = random.Next(20);
                if (roll == 1)
                {
                    // Kestrel refuses a NUL in the decoded path before routing runs.
                    return new Hostile("absurd path", Post("absurd path", "/extensions/slack/%00/", jsonType, "{}"u8.ToArray()).Bytes,
                        ProtocolLevel: true);
                }

                if (roll == 0)
                {
                    return new Hostile("absurd path", RawHttp.Request("POST", "/extensions/" + new string('a', 9000) + "/", jsonType, []),
                        ProtocolLevel: true);
                }

                return Post("absurd path", paths[random.Next(paths.Length)], jsonType, "{}"u8.ToArray());
            }

            case 9:
            {
                string[] methods = ["PUT", "PATCH", "DELETE", "FOO", "OPTIONS", "GET", "HEAD", "TRACE", new string('M', 300)];
                var method = methods[random.Next(methods.Length)];
                var body = method is "GET" or "HEAD" or "TRACE" ? [] : Encoding.UTF8.GetBytes(JsonSamples[2]);
                return new Hostile("method", RawHttp.Request(method, random.Next(2) == 0 ? json : form,
                    [.. jsonType, "X-GitHub-Event: push", $"Content-Length: {body.Length}"], body), ProtocolLevel: method.Length > 100);
            }

            case 10:
            {
                // A declared body larger than the limit, or a Content-Length the bytes do not match.
                return random.Next(2) == 0
                    ? new Hostile("oversize body", RawHttp.Request("POST", json, [.. jsonType, "Content-Length: 50000000"], "{}"u8.ToArray()),
                        CloseSend: true, ProtocolLevel: true)
                    : new Hostile("short body", RawHttp.Request("POST", json, [.. jsonType, "Content-Length: 100"], "{}"u8.ToArray()),
                        CloseSend: true, ProtocolLevel: true);
            }

            case 11:
            {
                string[] signatures =
                [
                    "X-Hub-Signature-256: sha256=zz", "X-Signature-Ed25519: 00", "X-Slack-Signature: v0=", "X-Slack-Request-Timestamp: -1",
                    "X-Signature-Timestamp: 99999999999999999999", "X-Hub-Signature-256: " + new string('a', 2000),
                ];
                return Post("signature junk", json, [.. jsonType, signatures[random.Next(signatures.Length)]], Encoding.UTF8.GetBytes(JsonSamples[random.Next(JsonSamples.Length)]));
            }

            case 12:
            {
                string[] headers =
                [
                    "X-GitHub-Event: " + new string('e', 500), "X-GitHub-Event: push\0", "X-GitHub-Event: ../../x", "X-GitHub-Event:",
                    "X-Gitlab-Event: \u00ff", "Authorization: JWT " + new string('.', 300), "Authorization: JWT a.b.c",
                    "X-Forwarded-For: 1.2.3.4", "X_Forwarded_For: 1.2.3.4", "X-Proxy-Region: eu", "Host: evil.example",
                ];
                var header = headers[random.Next(headers.Length)];
                // Kestrel refuses NUL and non-ASCII in header values and a second Host itself.
                var protocol = header.Any(c => c is '\0' or > '\u007f') || header.StartsWith("Host:", StringComparison.Ordinal);
                return new Hostile("hostile header", Post("hostile header", json, [.. jsonType, header], Encoding.UTF8.GetBytes(JsonSamples[2])).Bytes,
                    ProtocolLevel: protocol);
            }

            default:
            {
                var bytes = new byte[random.Next(1, 400)];
                random.NextBytes(bytes);
                return Post("random bytes", random.Next(2) == 0 ? json : form, random.Next(2) == 0 ? jsonType : formType, bytes);
            }
        }
    }

    private static Hostile Post(string family, string target, string[] headers, byte[] body)
        => new(family, RawHttp.Request("POST", target, [.. headers, $"Content-Length: {body.Length}"], body));
}
