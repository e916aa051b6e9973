using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>GitHub webhooks through the proxy into the durable mailbox and out to the regions, on real Kestrel.</summary>
public class MailboxEndToEndTests
{
    // Retries every ~50 ms instead of minutes; the schedule itself is tested with a fake clock in Proxy.Mailbox.Tests.
    private static readonly string[] FastRetries = [.. ProxyHarness.FastMailbox, "Mailbox:Admin:ApiKey=test-admin-key"];

    private static byte[] Push(int sequence, long repository = 1296269)
        => Encoding.UTF8.GetBytes($$$"""{"ref":"refs/heads/main","seq":{{{sequence}}},"repository":{"id":{{{repository}}},"full_name":"octocat/Hello-World"},"installation":{"id":2},"sender":{"login":"octocat"}}""");

    private static Task<HttpResponseMessage> SendPush(ProxyHarness proxy, byte[] body, string gitHubEvent = "push")
        => proxy.PostAsync("/extensions/github/webhook/", body, "application/json", new Dictionary<string, string>
        {
            ["X-GitHub-Event"] = gitHubEvent,
            ["X-GitHub-Delivery"] = Guid.NewGuid().ToString(),
        });

    private static int SequenceOf(RecordedRequest request) => JsonDocument.Parse(request.Body).RootElement.GetProperty("seq").GetInt32();

    [Fact]
    public async Task A_push_is_accepted_with_202_and_reaches_every_region_byte_for_byte()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, FastRetries);
        var body = Push(1);

        var response = await SendPush(proxy, body);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        foreach (var region in new[] { "eu", "us" })
        {
            var received = (await proxy.Regions[region].WaitForRequestsAsync(1)).Should().ContainSingle().Subject;
            received.Body.Should().Equal(body);
            received.PathAndQuery.Should().Be("/extensions/github/webhook/");
            received.Header("X-GitHub-Event").Should().Be("push");
            Guid.TryParse(received.Header("X-Proxy-Delivery-Id"), out _).Should().BeTrue();
        }

        proxy.Regions["ap"].Requests.Should().BeEmpty();
        proxy.Regions["eu"].Requests[0].Header("X-Proxy-Delivery-Id")
            .Should().NotBe(proxy.Regions["us"].Requests[0].Header("X-Proxy-Delivery-Id"), "each region's entry has its own delivery id");
    }

    [Fact]
    public async Task A_region_that_answers_503_three_times_gets_every_entry_in_order_with_no_gap_and_no_duplicate()
    {
        // GitHub lanes are due-head by default; strict order is what this test is about.
        await using var proxy = await ProxyHarness.StartAsync(null, [.. FastRetries, "Mailbox:Ordering:github=Strict"]);
        proxy.Regions["us"].Answer = (_, n) => n <= 3 ? new StubAnswer(503) : new StubAnswer(200);

        for (var i = 1; i <= 20; i++)
        {
            (await SendPush(proxy, Push(i))).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        var received = await proxy.Regions["us"].WaitForRequestsAsync(23, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        received = proxy.Regions["us"].Requests;

        received.Should().HaveCount(23, "three refused attempts of the head, then each entry once");
        received.Take(3).Select(SequenceOf).Should().Equal(1, 1, 1);
        received.Skip(3).Select(SequenceOf).Should().Equal(Enumerable.Range(1, 20));
        (await proxy.Regions["eu"].WaitForRequestsAsync(20)).Select(SequenceOf).Should().Equal(Enumerable.Range(1, 20),
            "a failing region holds back only its own deliveries");
    }

    [Fact]
    public async Task A_github_webhook_the_region_keeps_refusing_does_not_hold_back_the_later_ones()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, FastRetries);
        var lastDelivered = false;
        // The first webhook is refused until the last one has arrived: in a strict lane the last could never arrive.
        proxy.Regions["us"].Answer = (request, _) =>
        {
            var sequence = SequenceOf(request);
            if (sequence == 1 && !Volatile.Read(ref lastDelivered))
            {
                return new StubAnswer(503);
            }

            if (sequence == 10)
            {
                Volatile.Write(ref lastDelivered, true);
            }

            return new StubAnswer(200);
        };

        for (var i = 1; i <= 10; i++)
        {
            (await SendPush(proxy, Push(i))).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        // Until the refused webhook went again after the last one arrived (it is retried every ~50 ms).
        bool RetriedAfterLast(List<int> sequences) => sequences.IndexOf(10) >= 0 && sequences.LastIndexOf(1) > sequences.IndexOf(10);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!RetriedAfterLast(proxy.Regions["us"].Requests.Select(SequenceOf).ToList()) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(300);

        var received = proxy.Regions["us"].Requests.Select(SequenceOf).ToList();
        received.Distinct().Should().BeEquivalentTo(Enumerable.Range(1, 10), "every webhook arrives, the refused one too once it is retried");
        received.IndexOf(10).Should().BeLessThan(received.LastIndexOf(1), "the later webhooks went out while the first one was backing off");
        received.Where(s => s != 1).Should().Equal(Enumerable.Range(2, 9), "the others keep their order and go once each");
    }

    [Fact]
    public async Task A_404_drops_the_entry_to_the_dead_letters_and_the_mailbox_moves_on()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, FastRetries);
        proxy.Regions["us"].Answer = (request, _) => SequenceOf(request) == 1 ? new StubAnswer(404) : new StubAnswer(200);

        await SendPush(proxy, Push(1));
        await SendPush(proxy, Push(2));
        (await proxy.Regions["us"].WaitForRequestsAsync(2)).Select(SequenceOf).Should().Equal(1, 2);

        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/mailbox/dead-letters");
        request.Headers.Add("X-Admin-Key", "test-admin-key");
        var deadLetters = await proxy.Client.SendAsync(request);

        deadLetters.StatusCode.Should().Be(HttpStatusCode.OK);
        var text = await deadLetters.Content.ReadAsStringAsync();
        text.Should().Contain("not_found").And.Contain("github:20:69:push").And.Contain("\"us\"");
    }

    [Fact]
    public async Task Admin_endpoints_refuse_a_caller_without_the_key()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, FastRetries);

        var response = await proxy.Client.GetAsync("/admin/mailbox/mailboxes");

        ((int)response.StatusCode).Should().BeOneOf(401, 403);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Theory]
    [InlineData("star", HttpStatusCode.Accepted)]
    [InlineData("installation", HttpStatusCode.OK)]
    public async Task Unprocessed_events_are_dropped_and_installation_events_go_to_control(string gitHubEvent, HttpStatusCode status)
    {
        await using var proxy = await ProxyHarness.StartAsync(null, FastRetries);

        var response = await SendPush(proxy, Push(1), gitHubEvent);

        response.StatusCode.Should().Be(status);
        await Task.Delay(300);
        proxy.TotalRegionRequests.Should().Be(0);
        proxy.Control.Requests.Count.Should().Be(gitHubEvent == "installation" ? 1 : 0);
    }

    [Fact]
    public async Task An_installation_with_no_active_organization_is_a_400_problem()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, FastRetries);

        var response = await proxy.PostAsync("/extensions/github/webhook/",
            Encoding.UTF8.GetBytes("""{"installation":{"id":3},"repository":{"id":1}}"""), "application/json",
            new Dictionary<string, string> { ["X-GitHub-Event"] = "push" });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    private static void WithoutClusters(System.Text.Json.Nodes.JsonObject document, params string[] regions)
    {
        foreach (var region in regions)
        {
            document["ReverseProxy"]!["Clusters"]!.AsObject().Remove("region-" + region);
        }

        // A route naming a cluster that is gone cannot go live (the config check stops the start): drop it too.
        var routes = document["ReverseProxy"]!["Routes"]!.AsObject();
        foreach (var (id, _) in routes.Where(r => regions.Any(region => (string?)r.Value!["ClusterId"] == "region-" + region)).ToList())
        {
            routes.Remove(id);
        }
    }

    [Fact]
    public async Task A_directory_region_without_a_cluster_gets_nothing_stored_and_is_counted_while_the_others_are_delivered()
    {
        // Installation 2 has organizations in eu and us; eu is in the directory but no cluster serves it.
        await using var proxy = await ProxyHarness.StartAsync(null, document => WithoutClusters(document, "eu"), FastRetries);
        using var failures = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(),
            Proxy.Routing.Telemetry.RoutingMetrics.MeterName, "proxy.region.failures");
        var store = proxy.App.Services.GetRequiredService<Proxy.Mailbox.IMailboxStore>();
        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(503);

        var response = await SendPush(proxy, Push(1));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var lanes = await store.ListMailboxesAsync(10, TestContext.Current.CancellationToken);
        lanes.Select(l => l.Lane.Region).Should().Equal(["us"], "only a region with a cluster can ever be delivered to");
        (await store.ListDeadLettersAsync(null, 10, TestContext.Current.CancellationToken)).Should().BeEmpty();
        failures.GetMeasurementSnapshot().Should().ContainSingle(m =>
            (string?)m.Tags["proxy.region"] == "eu" && (string?)m.Tags["error.type"] == "region_not_configured"
            && (string?)m.Tags["proxy.mode"] == "mailbox");

        proxy.Regions["us"].Answer = (_, _) => new StubAnswer(200);
        (await proxy.Regions["us"].WaitForRequestsAsync(2)).Select(SequenceOf).Should().Contain(1);
    }

    [Fact]
    public async Task A_webhook_none_of_whose_regions_has_a_cluster_is_answered_by_control_and_nothing_is_stored()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, document => WithoutClusters(document, "eu", "us"), FastRetries);
        using var decisions = new MetricCollector<long>(proxy.App.Services.GetRequiredService<IMeterFactory>(),
            Proxy.Routing.Telemetry.RoutingMetrics.MeterName, "proxy.routing.decisions");
        var store = proxy.App.Services.GetRequiredService<Proxy.Mailbox.IMailboxStore>();
        var body = Push(1);

        var response = await SendPush(proxy, body);

        response.StatusCode.Should().Be(HttpStatusCode.OK, "control's answer");
        response.Headers.GetValues("X-Proxy-Region").Should().Equal("control");
        proxy.Control.Requests.Should().ContainSingle().Which.Body.Should().Equal(body);
        (await store.GetStatsAsync(TestContext.Current.CancellationToken)).Should().Be(new Proxy.Mailbox.MailboxStats(0, 0, null));
        decisions.GetMeasurementSnapshot().Select(m => m.Tags["proxy.mode"]).Should().Equal("control");
    }

    [Fact]
    public async Task When_the_store_cannot_write_the_sender_gets_503_never_202()
    {
        // The mailbox on a Redis that is not there.
        using var refused = new RefusedPort();
        var dead = $"127.0.0.1:{refused.Port},abortConnect=false,connectTimeout=200,syncTimeout=500,asyncTimeout=500";
        await using var proxy = await ProxyHarness.StartAsync(null, [.. FastRetries, $"Mailbox:Redis:ConnectionString={dead}"]);

        var response = await SendPush(proxy, Push(1));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter.Should().NotBeNull();
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await proxy.Client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK, "the process keeps serving");
        var ready = await proxy.Client.GetAsync("/readyz");
        ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a replica that cannot store webhooks is not ready");
        (await ready.Content.ReadAsStringAsync()).Should().Contain("the mailbox Redis does not answer");
    }
}
