using System.Net;
using System.Text.Json;

namespace Proxy.Host.Tests;

/// <summary>
/// Webhook endpoints take their provider's method: anything else is 405 problem+json with <c>Allow</c>, and is never
/// stored, forwarded or answered as a webhook. Control pages keep every method.
/// </summary>
public class MethodTests
{
    private const string Push = """{"ref":"refs/heads/main","installation":{"id":2},"repository":{"id":1}}""";

    [Theory]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    [InlineData("FOO")]
    public async Task A_GitHub_webhook_with_another_method_is_405_and_never_reaches_a_region(string method)
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await SendAsync(proxy, method, "/extensions/github/webhook/", Push, "bad-1");
        var valid = await SendAsync(proxy, "POST", "/extensions/github/webhook/", Push, "good-1");

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().Equal("POST");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString()
            .Should().EndWith("method-not-allowed");
        valid.StatusCode.Should().Be(HttpStatusCode.Accepted);
        // The mailbox lane is in order: once the valid push is delivered, the refused one would have been before it.
        foreach (var region in new[] { "eu", "us" })
        {
            await Eventually(() => proxy.Regions[region].Requests.Count >= 1);
            proxy.Regions[region].Requests.Should().ContainSingle().Which.Method.Should().Be("POST");
        }

        proxy.Control.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("PATCH", "/extensions/slack/commands/")]
    [InlineData("PUT", "/extensions/slack/event/")]
    [InlineData("DELETE", "/extensions/discord/interactions/")]
    public async Task Slack_and_Discord_webhooks_take_POST_only(string method, string path)
    {
        await using var proxy = await ProxyHarness.StartAsync();
        var body = path.Contains("discord", StringComparison.Ordinal)
            ? """{"type":2,"guild_id":"290926798626357999","data":{"name":"link"}}"""
            : """{"type":"event_callback","team_id":"TEU","event":{"type":"message"}}""";

        var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = path.Contains("commands", StringComparison.Ordinal)
                ? new FormUrlEncodedContent([new("team_id", "TEU"), new("command", "/sentry")])
                : new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };

        var response = await proxy.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().Equal("POST");
        proxy.TotalRegionRequests.Should().Be(0);
        proxy.Control.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task Control_pages_keep_every_method(string method)
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var response = await SendAsync(proxy, method, "/extensions/github/setup/?installation_id=1", null, null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        proxy.Control.Requests.Should().ContainSingle().Which.Method.Should().Be(method);
    }

    private static Task<HttpResponseMessage> SendAsync(ProxyHarness proxy, string method, string path, string? json, string? delivery)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        request.Headers.Add("X-GitHub-Event", "push");
        if (delivery is not null)
        {
            request.Headers.Add("X-GitHub-Delivery", delivery);
        }

        return proxy.Client.SendAsync(request);
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }
}
