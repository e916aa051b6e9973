using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>
/// The proxy on real Kestrel at 127.0.0.1:0, a control stub and region stubs (ap, eu, us), and a config folder of its
/// own that a test may edit on disk.
/// </summary>
public sealed class ProxyHarness : IAsyncDisposable
{
    public const string DirectoryJson = """
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "ap", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "eu", "Status": "active" },
            { "Id": 3, "Slug": "hooli", "Region": "us", "Status": "active" },
            { "Id": 4, "Slug": "initech", "Region": "us", "Status": "disabled" }
          ],
          "Integrations": [
            { "Id": 10, "Provider": "slack", "ExternalId": "TALL", "Status": "active", "Organizations": [1, 2, 3] },
            { "Id": 11, "Provider": "slack", "ExternalId": "TUS", "Status": "active", "Organizations": [3] },
            { "Id": 12, "Provider": "slack", "ExternalId": "TNONE", "Status": "active", "Organizations": [4] },
            { "Id": 13, "Provider": "slack", "ExternalId": "TEU", "Status": "active", "Organizations": [2] },
            { "Id": 20, "Provider": "github", "ExternalId": "2", "Status": "active", "Organizations": [2, 3] },
            { "Id": 21, "Provider": "github", "ExternalId": "3", "Status": "active", "Organizations": [4] },
            { "Id": 30, "Provider": "discord", "ExternalId": "290926798626357999", "Status": "active", "Organizations": [1, 2] }
          ]
        }
        """;

    /// <summary>Mailbox settings that retry every ~50 ms instead of minutes (the schedule itself is tested with a fake clock in Proxy.Mailbox.Tests).</summary>
    public static readonly string[] FastMailbox =
        ["Mailbox:Backoff:InitialMinutes=0.0008", "Mailbox:Backoff:Rate=1.0", "Mailbox:PollIntervalSeconds=0.05"];

    /// <summary>A sample payload file of Proxy.Routing.Tests/Payloads, copied beside the tests.</summary>
    public static byte[] Payload(string provider, string file)
        => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Payloads", provider, file));

    private ProxyHarness(string configDir, SiloStub control, IReadOnlyDictionary<string, SiloStub> regions)
    {
        ConfigDir = configDir;
        Control = control;
        Regions = regions;
    }

    public string ConfigDir { get; }

    /// <summary>Ports that refuse connections, held for the harness's lifetime (dead regions, dead Redis).</summary>
    private readonly List<RefusedPort> _refused = [];

    public RefusedPort RefusedPort()
    {
        var port = new RefusedPort();
        _refused.Add(port);
        return port;
    }

    public SiloStub Control { get; }

    public IReadOnlyDictionary<string, SiloStub> Regions { get; }

    public WebApplication App { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The control cluster's address when it is not <see cref="Control"/> (a control directory stub).</summary>
    public Uri? ControlAddress { get; private set; }

    /// <summary>Starts stubs and the proxy. Regions named in <paramref name="deadRegions"/> point at a port nobody listens on.</summary>
    public static Task<ProxyHarness> StartAsync(string[]? deadRegions = null, params string[] settings)
        => StartCoreAsync(deadRegions, null, null, settings);

    /// <summary>The same, with the routes document (<c>{"ReverseProxy":{"Routes":…,"Clusters":…}}</c>) edited before start.</summary>
    public static Task<ProxyHarness> StartAsync(string[]? deadRegions, Action<JsonObject>? editRoutes, params string[] settings)
        => StartCoreAsync(deadRegions, null, editRoutes, settings);

    /// <summary>The same with a directory of the test's own instead of <see cref="DirectoryJson"/>.</summary>
    public static Task<ProxyHarness> StartWithDirectoryAsync(string directoryJson, Action<JsonObject>? editRoutes, params string[] settings)
        => StartCoreAsync(null, null, editRoutes, settings, directoryJson);

    /// <summary>The same with <paramref name="controlDirectory"/> as the control cluster (it serves the directory API).</summary>
    public static Task<ProxyHarness> StartWithControlDirectoryAsync(ControlDirectoryStub controlDirectory, params string[] settings)
    {
        ArgumentNullException.ThrowIfNull(controlDirectory);
        return StartCoreAsync(null, controlDirectory.Address, null, settings);
    }

    private static async Task<ProxyHarness> StartCoreAsync(string[]? deadRegions, Uri? controlAddress, Action<JsonObject>? editRoutes,
        string[] settings, string directoryJson = DirectoryJson)
    {
        var configDir = Directory.CreateTempSubdirectory("proxy-config-").FullName;
        var control = await SiloStub.StartAsync("control");
        var regions = new Dictionary<string, SiloStub>();
        foreach (var name in new[] { "ap", "eu", "us" })
        {
            regions[name] = await SiloStub.StartAsync(name);
        }

        var harness = new ProxyHarness(configDir, control, regions) { ControlAddress = controlAddress };
        if (controlAddress is null)
        {
            // With the control directory source no directory.json exists: the proxy must not need one.
            await File.WriteAllTextAsync(Path.Combine(configDir, "directory.json"), directoryJson);
        }

        var routes = JsonNode.Parse(harness.RoutesJson(deadRegions ?? []))!.AsObject();
        editRoutes?.Invoke(routes);
        await File.WriteAllTextAsync(Path.Combine(configDir, "proxy.json"), routes.ToJsonString());

        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0", $"--ConfigDir={configDir}", "--Logging:LogLevel:Default=Warning",
            $"--Mailbox:DataDir={Path.Combine(configDir, "data")}",
            // Every request comes from 127.0.0.1 and most go to a handful of integrations: the tests of the limits
            // (RateLimitTests) turn them on.
            "--RateLimits:Enabled=false",
        };
        args.AddRange(settings.Select(s => "--" + s));
        harness.App = ProxyApplication.Build([.. args]);
        await harness.App.StartAsync();
        harness.Client = new HttpClient { BaseAddress = new Uri(harness.App.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        return harness;
    }

    public string RoutesJson(IReadOnlyCollection<string> deadRegions)
    {
        var clusters = new JsonObject
        {
            ["control"] = Cluster(ControlAddress ?? Control.Address, null),
        };
        foreach (var (name, stub) in Regions)
        {
            var address = deadRegions.Contains(name) ? RefusedPort().Address : stub.Address;
            clusters[$"region-{name}"] = Cluster(address, name);
        }

        var routes = new JsonObject
        {
            ["webhooks"] = new JsonObject
            {
                ["ClusterId"] = "control",
                ["Match"] = new JsonObject { ["Path"] = "/extensions/{**rest}" },
                ["Metadata"] = new JsonObject { ["IntegrationRouting"] = "true" },
            },
            ["plain-eu"] = new JsonObject
            {
                ["ClusterId"] = "region-eu",
                ["Match"] = new JsonObject { ["Path"] = "/plain/{**rest}" },
            },
        };
        var document = new JsonObject { ["ReverseProxy"] = new JsonObject { ["Routes"] = routes, ["Clusters"] = clusters } };
        return document.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonObject Cluster(Uri address, string? region)
    {
        var cluster = new JsonObject
        {
            ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = address.ToString() } },
        };
        if (region is not null)
        {
            cluster["Metadata"] = new JsonObject { ["Region"] = region };
        }

        return cluster;
    }

    public Task<HttpResponseMessage> PostAsync(string path, byte[] body, string contentType, IDictionary<string, string>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        foreach (var (key, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }

        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json, IDictionary<string, string>? headers = null)
        => PostAsync(path, Encoding.UTF8.GetBytes(json), "application/json", headers);

    public Task<HttpResponseMessage> PostFormAsync(string path, string form)
        => PostAsync(path, Encoding.UTF8.GetBytes(form), "application/x-www-form-urlencoded");

    public int TotalRegionRequests => Regions.Values.Sum(r => r.Requests.Count);

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        await Control.DisposeAsync();
        foreach (var port in _refused)
        {
            port.Dispose();
        }

        foreach (var region in Regions.Values)
        {
            await region.DisposeAsync();
        }

        try
        {
            Directory.Delete(ConfigDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
