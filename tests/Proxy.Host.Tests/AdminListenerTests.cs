using System.Net;
using System.Net.Sockets;

namespace Proxy.Host.Tests;

/// <summary><c>Admin:Urls</c>: the admin endpoints on their own port, refused on the public one.</summary>
public class AdminListenerTests
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static HttpRequestMessage MailboxList(Uri server, string? host = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, "/admin/mailbox/mailboxes"));
        request.Headers.Add("X-Admin-Key", "admin-key");
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        return request;
    }

    [Fact]
    public async Task Admin_answers_on_its_own_port_and_the_public_port_refuses_it_whatever_the_Host_header()
    {
        var port = FreePort();
        await using var proxy = await ProxyHarness.StartAsync(null, [$"Admin:Urls=http://127.0.0.1:{port}", "Admin:ApiKey=admin-key"]);
        var admin = new Uri($"http://127.0.0.1:{port}/");
        using var client = new HttpClient();

        var onAdmin = await client.SendAsync(MailboxList(admin));
        var onPublic = await proxy.Client.SendAsync(MailboxList(proxy.Client.BaseAddress!));
        var spoofedHost = await proxy.Client.SendAsync(MailboxList(proxy.Client.BaseAddress!, $"127.0.0.1:{port}"));
        var webhookOnAdmin = await client.PostAsync(new Uri(admin, "/extensions/slack/commands/"),
            new FormUrlEncodedContent([new("team_id", "TALL"), new("command", "/sentry")]));
        var healthOnAdmin = await client.GetAsync(new Uri(admin, "/healthz"));

        onAdmin.StatusCode.Should().Be(HttpStatusCode.OK, await onAdmin.Content.ReadAsStringAsync());
        onPublic.StatusCode.Should().Be(HttpStatusCode.NotFound);
        onPublic.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        spoofedHost.StatusCode.Should().Be(HttpStatusCode.NotFound);
        webhookOnAdmin.StatusCode.Should().Be(HttpStatusCode.NotFound);
        healthOnAdmin.StatusCode.Should().Be(HttpStatusCode.OK);
        proxy.TotalRegionRequests.Should().Be(0);
    }

    [Fact]
    public async Task Without_Admin_Urls_the_admin_endpoints_stay_on_the_main_listener_behind_the_key()
    {
        await using var proxy = await ProxyHarness.StartAsync(null, ["Admin:ApiKey=admin-key"]);

        (await proxy.Client.SendAsync(MailboxList(proxy.Client.BaseAddress!))).StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
