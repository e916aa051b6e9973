using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// The control directory's cache with Redis: answers shared by replicas, invalidation reaching another proxy process,
/// and a Redis that hangs costing one short timeout instead of breaking routing.
/// </summary>
public sealed class DirectoryRedisEndToEndTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private const string AdminKey = "directory-admin-key";
    private ControlDirectoryStub _control = null!;

    public async ValueTask InitializeAsync()
    {
        await redis.FlushAsync();
        _control = await ControlDirectoryStub.StartAsync();
        _control.SetOrganization(1, "eu");
        _control.SetOrganization(2, "us");
        _control.SetIntegration(10, "slack", "TINV", "active", 1);
        _control.SetIntegration(11, "slack", "TCOLD", "active", 2);
    }

    public async ValueTask DisposeAsync() => await _control.DisposeAsync();

    private static Task<HttpResponseMessage> CommandAsync(HttpClient client, string team)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/extensions/slack/commands/")
        {
            Content = new StringContent($"team_id={team}&command=%2Fsentry", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        return client.SendAsync(request);
    }

    private static string Region(HttpResponseMessage response) => response.Headers.GetValues("X-Proxy-Region").Single();

    private static JsonElement Check(string readyz, string name) => JsonDocument.Parse(readyz).RootElement.GetProperty("checks").GetProperty(name);

    [Fact]
    public async Task An_answer_of_control_is_shared_through_Redis_with_its_lifetime_and_a_fresh_replica_does_not_ask_control_again()
    {
        string[] settings = ["Directory:Source=Control", $"Redis:ConnectionString={redis.ConnectionString}", "Mailbox:Store=Sqlite"];
        await using var first = await ProxyHarness.StartWithControlDirectoryAsync(_control, settings);
        Region(await CommandAsync(first.Client, "TINV")).Should().Be("eu");

        await using var second = await ProxyHarness.StartWithControlDirectoryAsync(_control, settings);
        var response = await CommandAsync(second.Client, "TINV");

        Region(response).Should().Be("eu");
        _control.Calls(ControlDirectoryStub.IntegrationPath("slack", "TINV")).Should().Be(1, "the second replica read the answer from Redis");
        var key = redis.Connection!.GetServer($"127.0.0.1:{redis.Port}").Keys(pattern: "edge-proxy:directory:integration:slack:TINV").Single();
        var ttl = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(key);
        ttl.Should().BeGreaterThan(TimeSpan.FromMinutes(4), "a positive answer lives Directory:Control:CacheTtl (5 min) in Redis");
    }

    [Fact]
    public async Task An_invalidation_on_one_proxy_reaches_another_proxy_process_within_a_second()
    {
        await using var first = await ProxyHarness.StartWithControlDirectoryAsync(_control,
            "Directory:Source=Control", $"Redis:ConnectionString={redis.ConnectionString}", $"Admin:ApiKey={AdminKey}", "Mailbox:Store=Sqlite");
        await using var second = ProxyProcess.Start($"ConfigDir={first.ConfigDir}", "Directory:Source=Control",
            $"Redis:ConnectionString={redis.ConnectionString}", "Mailbox:Store=Sqlite", $"Mailbox:DataDir={Path.Combine(first.ConfigDir, "data-second")}");
        await second.WaitReadyAsync(body => Check(body, "directory-cache").GetProperty("data").GetProperty("invalidation.subscribed").GetString() == "True");
        // The publishing proxy too: its connection is opened by its own subscription, and a publish that has to wait for
        // the connection on a loaded machine can outlast Redis:OperationTimeout.
        var connected = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < connected && Check(await first.Client.GetStringAsync("/readyz"), "directory-cache")
            .GetProperty("data").GetProperty("invalidation.subscribed").GetString() != "True")
        {
            await Task.Delay(50);
        }

        var path = ControlDirectoryStub.IntegrationPath("slack", "TINV");

        Region(await CommandAsync(second.Client, "TINV")).Should().Be("eu");
        _control.SetOrganization(1, "us");
        Region(await CommandAsync(second.Client, "TINV")).Should().Be("eu", "the second proxy answers from its cache");
        var callsBefore = _control.Calls(path);

        var invalidation = new HttpRequestMessage(HttpMethod.Post, "/admin/directory/invalidate")
        {
            Content = new StringContent("""{"organizationId":1}""", System.Text.Encoding.UTF8, "application/json"),
        };
        invalidation.Headers.Add("X-Admin-Key", AdminKey);
        var accepted = await first.Client.SendAsync(invalidation);
        var seen = Stopwatch.StartNew();
        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await accepted.Content.ReadAsStringAsync()).Should().Contain("\"published\":true");

        // The second proxy goes back to control once it got the message: the stub's call count shows when.
        HttpResponseMessage after;
        do
        {
            after = await CommandAsync(second.Client, "TINV");
        }
        while (_control.Calls(path) == callsBefore && seen.Elapsed < TimeSpan.FromSeconds(1));

        seen.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1), "the invalidation must reach every replica within 1 s");
        _control.Calls(path).Should().Be(callsBefore + 1);
        Region(after).Should().Be("us");
    }

    [Fact]
    public async Task With_Redis_hanging_a_cold_webhook_is_routed_from_control_within_the_deadline_and_readiness_is_degraded()
    {
        using var hanging = new SilentTcpListener();
        await using var proxy = await ProxyHarness.StartWithControlDirectoryAsync(_control, "Directory:Source=Control",
            $"Redis:ConnectionString=127.0.0.1:{hanging.Port},abortConnect=false", "Mailbox:Store=Sqlite");

        var started = Stopwatch.StartNew();
        var response = await CommandAsync(proxy.Client, "TCOLD");
        var elapsed = started.Elapsed;
        var warm = await CommandAsync(proxy.Client, "TCOLD");
        var ready = await proxy.Client.GetAsync("/readyz");
        var readyz = await ready.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Region(response).Should().Be("us");
        elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(2500 + 200), "Routing:SyncDeadline + 200 ms");
        Region(warm).Should().Be("us");
        _control.Calls(ControlDirectoryStub.IntegrationPath("slack", "TCOLD")).Should().Be(1, "the second request is served from memory");
        hanging.Accepted.Should().BePositive("the proxy did try the hanging Redis");
        ready.StatusCode.Should().Be(HttpStatusCode.OK, readyz);
        Check(readyz, "directory-cache").GetProperty("status").GetString().Should().Be("Degraded");
        Check(readyz, "directory-cache").GetProperty("description").GetString().Should().Contain("Redis does not answer");
    }

    [Fact]
    public async Task With_Redis_refusing_connections_routing_goes_on_from_control_and_readiness_is_degraded()
    {
        using var refused = new RefusedPort();
        await using var proxy = await ProxyHarness.StartWithControlDirectoryAsync(_control, "Directory:Source=Control",
            $"Redis:ConnectionString=127.0.0.1:{refused.Port},abortConnect=false", "Mailbox:Store=Sqlite");

        var response = await CommandAsync(proxy.Client, "TCOLD");
        var ready = await proxy.Client.GetAsync("/readyz");

        Region(response).Should().Be("us");
        ready.StatusCode.Should().Be(HttpStatusCode.OK);
        Check(await ready.Content.ReadAsStringAsync(), "directory-cache").GetProperty("status").GetString().Should().Be("Degraded");
    }
}
