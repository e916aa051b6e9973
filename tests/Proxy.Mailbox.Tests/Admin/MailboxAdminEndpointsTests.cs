using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Admin;

/// <summary>The admin endpoints over real HTTP, on Kestrel at 127.0.0.1:0, with the mailbox wired as the host wires it.</summary>
public sealed class MailboxAdminEndpointsTests : IAsyncLifetime
{
    private const string Key = "s3cret-admin-key";
    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly List<WebApplication> _apps = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    private async Task<(HttpClient Client, IMailboxStore Store)> StartAsync(string apiKey, string keySetting = "Mailbox:Admin:ApiKey")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mailbox:DataDir"] = Path.Combine(_directory.Path, Guid.NewGuid().ToString("N")),
            ["Mailbox:DrainerEnabled"] = "false",
            [keySetting] = apiKey,
        });
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddWebhookMailbox(builder.Configuration);
        var app = builder.Build();
        app.MapMailboxAdmin();
        await app.StartAsync(Ct);
        _apps.Add(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address) };
        client.DefaultRequestHeaders.Add(MailboxAdminEndpoints.ApiKeyHeader, Key);
        return (client, app.Services.GetRequiredService<IMailboxStore>());
    }

    [Fact]
    public async Task Mailboxes_are_listed_with_depth_and_oldest_age()
    {
        var (client, store) = await StartAsync(Key);
        await store.AppendAsync([Entry("github:1", "us", Start), Entry("github:1", "de", Start)], Ct);
        await store.AppendAsync([Entry("github:1", "us", Start.AddMinutes(1))], Ct);
        _time.Advance(TimeSpan.FromMinutes(5));

        var body = await client.GetFromJsonAsync<JsonElement>("/admin/mailbox/mailboxes", Ct);

        var lanes = body.GetProperty("mailboxes").EnumerateArray()
            .Select(l => (l.GetProperty("mailbox").GetString(), l.GetProperty("region").GetString(), l.GetProperty("depth").GetInt64(), l.GetProperty("oldestAgeSeconds").GetDouble()))
            .ToList();
        lanes.Should().BeEquivalentTo([("github:1", "us", 2L, 300.0), ("github:1", "de", 1L, 300.0)]);
    }

    [Fact]
    public async Task Dead_letters_are_listed_replayed_and_purged()
    {
        var (client, store) = await StartAsync(Key);
        var replayed = Entry("github:1", "us", Start);
        var purged = Entry("github:2", "us", Start);
        await store.AppendAsync([replayed], Ct);
        await store.AppendAsync([purged], Ct);
        await store.DeadLetterAsync(replayed.Lane, replayed.DeliveryId, new DeadLetterCause("not_found", 404, null), Ct);
        await store.DeadLetterAsync(purged.Lane, purged.DeliveryId, new DeadLetterCause("attempts_exceeded", null, "timeout"), Ct);

        var listed = await client.GetFromJsonAsync<JsonElement>("/admin/mailbox/dead-letters", Ct);
        var filtered = await client.GetFromJsonAsync<JsonElement>("/admin/mailbox/dead-letters?mailbox=github:2&limit=5", Ct);
        var replay = await client.PostAsync($"/admin/mailbox/dead-letters/{replayed.DeliveryId}/replay", null, Ct);
        var purge = await client.DeleteAsync($"/admin/mailbox/dead-letters/{purged.DeliveryId}", Ct);

        listed.GetProperty("deadLetters").EnumerateArray().Select(d => (d.GetProperty("deliveryId").GetString(), d.GetProperty("reason").GetString()))
            .Should().BeEquivalentTo([(replayed.DeliveryId, "not_found"), (purged.DeliveryId, "attempts_exceeded")]);
        var only = filtered.GetProperty("deadLetters").EnumerateArray().Single();
        only.GetProperty("deliveryId").GetString().Should().Be(purged.DeliveryId);
        only.GetProperty("lastError").GetString().Should().Be("timeout");
        replay.StatusCode.Should().Be(HttpStatusCode.OK);
        purge.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await store.PeekAsync(replayed.Lane, 10, Ct)).Single().DeliveryId.Should().Be(replayed.DeliveryId);
        (await store.ListDeadLettersAsync(null, 10, Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task Dead_letters_are_replayed_in_bulk_by_mailbox_and_by_the_time_they_died()
    {
        var (client, store) = await StartAsync(Key);
        var early = Entry("github:1", "us", Start);
        var late = Entry("github:1", "us", Start.AddSeconds(1));
        var other = Entry("github:2", "us", Start);
        await store.AppendAsync([early], Ct);
        await store.AppendAsync([late], Ct);
        await store.AppendAsync([other], Ct);
        var cause = new DeadLetterCause("attempts_exceeded", 500, null);
        await store.DeadLetterAsync(early.Lane, early.DeliveryId, cause, Ct);
        await store.DeadLetterAsync(other.Lane, other.DeliveryId, cause, Ct);
        _time.Advance(TimeSpan.FromHours(1));
        var cut = _time.GetUtcNow();
        await store.DeadLetterAsync(late.Lane, late.DeliveryId, cause, Ct);

        var byTime = await client.PostAsync($"/admin/mailbox/dead-letters/replay?mailbox=github:1&until={Uri.EscapeDataString(cut.ToString("O"))}", null, Ct);
        var rest = await client.PostAsync("/admin/mailbox/dead-letters/replay?mailbox=github:1", null, Ct);
        var badRange = await client.PostAsync($"/admin/mailbox/dead-letters/replay?since={Uri.EscapeDataString(cut.ToString("O"))}&until={Uri.EscapeDataString(cut.AddHours(-1).ToString("O"))}", null, Ct);

        var first = await byTime.Content.ReadFromJsonAsync<JsonElement>(Ct);
        first.GetProperty("replayed").GetInt32().Should().Be(1);
        first.GetProperty("deliveryIds").EnumerateArray().Single().GetString().Should().Be(early.DeliveryId);
        first.GetProperty("more").GetBoolean().Should().BeFalse();
        (await rest.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("deliveryIds").EnumerateArray().Select(d => d.GetString())
            .Should().Equal(late.DeliveryId);
        (await store.PeekAsync(early.Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(early.DeliveryId, late.DeliveryId);
        (await store.ListDeadLettersAsync(null, 10, Ct)).Select(d => d.Entry.DeliveryId).Should().Equal(other.DeliveryId);
        await ShouldBeProblemAsync(badRange, HttpStatusCode.BadRequest, "invalid-time-range");
    }

    [Fact]
    public async Task A_mailbox_is_retried_now_and_its_lanes_purged()
    {
        var (client, store) = await StartAsync(Key);
        var waiting = Entry("jira:1", "us", Start);
        var otherRegion = Entry("jira:1", "de", Start);
        var kept = Entry("jira:2", "us", Start);
        foreach (var entry in new[] { waiting, otherRegion, kept })
        {
            await store.AppendAsync([entry], Ct);
        }

        var lease = (await store.TryClaimAsync(waiting.Lane, TimeSpan.FromSeconds(30), Ct))!;
        await store.RescheduleAsync(lease, waiting.DeliveryId, Start.AddMinutes(4.2), Ct);
        await store.ReleaseAsync(lease, Ct);

        var retry = await client.PostAsync("/admin/mailbox/mailboxes/jira:1/retry?region=us", null, Ct);
        var retried = await retry.Content.ReadFromJsonAsync<JsonElement>(Ct);
        retry.StatusCode.Should().Be(HttpStatusCode.OK);
        retried.GetProperty("mailbox").GetString().Should().Be("jira:1");
        retried.GetProperty("region").GetString().Should().Be("us");
        retried.GetProperty("lanes").GetInt32().Should().Be(1);
        retried.GetProperty("retried").GetInt64().Should().Be(1);
        var head = (await store.PeekAsync(waiting.Lane, 1, Ct)).Single();
        head.NextAttemptAt.Should().Be(Start, "due at once");
        head.Attempts.Should().Be(1, "attempts are kept");
        (await store.GetDueLanesAsync(10, Ct)).Should().Contain(waiting.Lane);

        var purge = await client.DeleteAsync("/admin/mailbox/mailboxes/jira%3A1", Ct);
        var result = await purge.Content.ReadFromJsonAsync<JsonElement>(Ct);
        purge.StatusCode.Should().Be(HttpStatusCode.OK);
        result.GetProperty("lanes").GetInt32().Should().Be(2);
        result.GetProperty("purged").GetInt64().Should().Be(2);
        result.GetProperty("region").ValueKind.Should().Be(JsonValueKind.Null);
        (await store.ListMailboxesAsync(10, Ct)).Select(s => s.Lane).Should().Equal(kept.Lane);

        await ShouldBeProblemAsync(await client.DeleteAsync("/admin/mailbox/mailboxes/jira:1", Ct), HttpStatusCode.NotFound, "lane-not-found");
        await ShouldBeProblemAsync(await client.PostAsync("/admin/mailbox/mailboxes/jira:1/retry", null, Ct), HttpStatusCode.NotFound, "lane-not-found");
        await ShouldBeProblemAsync(await client.PostAsync("/admin/mailbox/mailboxes/jira:2/retry?region=eu", null, Ct), HttpStatusCode.NotFound, "lane-not-found");
        await ShouldBeProblemAsync(await client.PostAsync("/admin/mailbox/mailboxes/a%20b/retry", null, Ct), HttpStatusCode.BadRequest, "invalid-mailbox");
        await ShouldBeProblemAsync(await client.DeleteAsync("/admin/mailbox/mailboxes/jira:2?region=u:s", Ct), HttpStatusCode.BadRequest, "invalid-region");
        (await store.GetStatsAsync(Ct)).Pending.Should().Be(1, "refused calls change nothing");
    }

    [Fact]
    public async Task An_unknown_dead_letter_is_a_404_problem()
    {
        var (client, _) = await StartAsync(Key);

        var replay = await client.PostAsync($"/admin/mailbox/dead-letters/{Guid.NewGuid()}/replay", null, Ct);
        var purge = await client.DeleteAsync($"/admin/mailbox/dead-letters/{Guid.NewGuid()}", Ct);

        await ShouldBeProblemAsync(replay, HttpStatusCode.NotFound, "dead-letter-not-found");
        await ShouldBeProblemAsync(purge, HttpStatusCode.NotFound, "dead-letter-not-found");
    }

    [Fact]
    public async Task A_limit_out_of_range_is_a_400_problem()
    {
        var (client, _) = await StartAsync(Key);

        await ShouldBeProblemAsync(await client.GetAsync("/admin/mailbox/mailboxes?limit=0", Ct), HttpStatusCode.BadRequest, "invalid-limit");
        await ShouldBeProblemAsync(await client.GetAsync("/admin/mailbox/dead-letters?limit=5000", Ct), HttpStatusCode.BadRequest, "invalid-limit");
        await ShouldBeProblemAsync(await client.GetAsync("/admin/mailbox/dead-letters?mailbox=a%20b", Ct), HttpStatusCode.BadRequest, "invalid-mailbox");
    }

    [Fact]
    public async Task A_missing_key_is_401_and_a_wrong_key_is_403()
    {
        var (client, _) = await StartAsync(Key);
        client.DefaultRequestHeaders.Remove(MailboxAdminEndpoints.ApiKeyHeader);

        var missing = await client.GetAsync("/admin/mailbox/mailboxes", Ct);
        client.DefaultRequestHeaders.Add(MailboxAdminEndpoints.ApiKeyHeader, Key + "x");
        var wrong = await client.GetAsync("/admin/mailbox/mailboxes", Ct);

        await ShouldBeAdminKeyProblemAsync(missing, HttpStatusCode.Unauthorized, "missing-admin-key");
        await ShouldBeAdminKeyProblemAsync(wrong, HttpStatusCode.Forbidden, "wrong-admin-key");
    }

    [Fact]
    public async Task Retry_now_and_purge_need_the_admin_key()
    {
        var (client, store) = await StartAsync(Key);
        var entry = Entry("jira:1", "us", Start);
        await store.AppendAsync([entry], Ct);
        var lease = (await store.TryClaimAsync(entry.Lane, TimeSpan.FromSeconds(30), Ct))!;
        await store.RescheduleAsync(lease, entry.DeliveryId, Start.AddMinutes(4.2), Ct);
        await store.ReleaseAsync(lease, Ct);
        client.DefaultRequestHeaders.Remove(MailboxAdminEndpoints.ApiKeyHeader);

        await ShouldBeAdminKeyProblemAsync(await client.PostAsync("/admin/mailbox/mailboxes/jira:1/retry", null, Ct), HttpStatusCode.Unauthorized, "missing-admin-key");
        await ShouldBeAdminKeyProblemAsync(await client.DeleteAsync("/admin/mailbox/mailboxes/jira:1", Ct), HttpStatusCode.Unauthorized, "missing-admin-key");
        client.DefaultRequestHeaders.Add(MailboxAdminEndpoints.ApiKeyHeader, "not-" + Key);
        await ShouldBeAdminKeyProblemAsync(await client.PostAsync("/admin/mailbox/mailboxes/jira:1/retry", null, Ct), HttpStatusCode.Forbidden, "wrong-admin-key");
        await ShouldBeAdminKeyProblemAsync(await client.DeleteAsync("/admin/mailbox/mailboxes/jira:1", Ct), HttpStatusCode.Forbidden, "wrong-admin-key");

        var left = (await store.PeekAsync(entry.Lane, 10, Ct)).Single();
        left.NextAttemptAt.Should().Be(Start.AddMinutes(4.2), "a refused retry changes nothing");
        var (disabled, _) = await StartAsync("");
        await ShouldBeAdminKeyProblemAsync(await disabled.DeleteAsync("/admin/mailbox/mailboxes/jira:1", Ct), HttpStatusCode.NotFound, "admin-disabled");
    }

    [Fact]
    public async Task The_shared_admin_key_opens_the_mailbox_endpoints_too()
    {
        var (client, _) = await StartAsync(Key, keySetting: "Admin:ApiKey");

        var response = await client.GetAsync("/admin/mailbox/mailboxes", Ct);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task With_no_key_configured_the_endpoints_are_disabled_with_404()
    {
        var (client, _) = await StartAsync("");

        var response = await client.GetAsync("/admin/mailbox/mailboxes", Ct);

        await ShouldBeAdminKeyProblemAsync(response, HttpStatusCode.NotFound, "admin-disabled");
    }

    /// <summary>The admin key's problems are the ones every admin endpoint answers (no mailbox- prefix).</summary>
    private static async Task ShouldBeAdminKeyProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        response.StatusCode.Should().Be(status);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        problem.GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:" + type);
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
    }

    private static async Task ShouldBeProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        response.StatusCode.Should().Be(status);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        problem.GetProperty("type").GetString().Should().Be("urn:edge-proxy:problem:mailbox-" + type);
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
        problem.GetProperty("title").GetString().Should().NotBeNullOrEmpty();
        problem.GetProperty("detail").GetString().Should().NotBeNullOrEmpty();
    }
}
