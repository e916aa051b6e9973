using System.Net;
using System.Text;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>A sender's retries of one delivery are absorbed at the edge: answered as the original, stored and sent once.</summary>
public class DuplicateEndToEndTests
{
    private static Task<HttpResponseMessage> PushAsync(ProxyHarness proxy, string delivery, string branch)
        => proxy.PostJsonAsync("/extensions/github/webhook/",
            $$$"""{"ref":"refs/heads/{{{branch}}}","installation":{"id":2},"repository":{"id":1}}""",
            new Dictionary<string, string> { ["X-GitHub-Event"] = "push", ["X-GitHub-Delivery"] = delivery });

    private static async Task<IReadOnlyList<string>> BodiesAsync(SiloStub region, int count)
        => (await region.WaitForRequestsAsync(count, TimeSpan.FromSeconds(30))).Select(r => Encoding.UTF8.GetString(r.Body)).ToList();

    [Fact]
    public async Task The_same_GitHub_delivery_sent_three_times_is_stored_once_and_answered_202_three_times()
    {
        await using var proxy = await ProxyHarness.StartAsync();

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add((await PushAsync(proxy, "delivery-1", "one")).StatusCode);
        }

        // A second delivery behind it in the same lane: once it has arrived, a stored duplicate would have too.
        (await PushAsync(proxy, "delivery-2", "two")).StatusCode.Should().Be(HttpStatusCode.Accepted);

        answers.Should().Equal(HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted);
        foreach (var region in new[] { "eu", "us" })
        {
            var bodies = await BodiesAsync(proxy.Regions[region], 2);
            bodies.Should().HaveCount(2);
            bodies[0].Should().Contain("refs/heads/one");
            bodies[1].Should().Contain("refs/heads/two");
        }
    }

    [Fact]
    public async Task A_Slack_event_retried_with_the_same_event_id_reaches_the_region_once()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        const string Event = """{"type":"event_callback","team_id":"TEU","event_id":"Ev1","event":{"type":"message","text":"hi"}}""";

        var first = await proxy.PostJsonAsync("/extensions/slack/event/", Event);
        var retry = await proxy.PostJsonAsync("/extensions/slack/event/", Event);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        retry.StatusCode.Should().Be(HttpStatusCode.OK);
        proxy.Regions["eu"].Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task A_delivery_the_region_refused_is_delivered_again_when_the_sender_retries()
    {
        await using var proxy = await ProxyHarness.StartAsync();
        const string Event = """{"type":"event_callback","team_id":"TEU","event_id":"Ev2","event":{"type":"message","text":"hi"}}""";
        proxy.Regions["eu"].Answer = (_, _) => new StubAnswer(500);

        var first = await proxy.PostJsonAsync("/extensions/slack/event/", Event);
        proxy.Regions["eu"].Answer = (_, _) => new StubAnswer();
        var retry = await proxy.PostJsonAsync("/extensions/slack/event/", Event);

        first.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        retry.StatusCode.Should().Be(HttpStatusCode.OK);
        proxy.Regions["eu"].Requests.Should().HaveCount(2);
    }
}
