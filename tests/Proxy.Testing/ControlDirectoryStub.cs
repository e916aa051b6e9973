using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Proxy.Testing;

/// <summary>How the control stub answers its directory API.</summary>
public enum ControlDirectoryMode
{
    Up,

    /// <summary>503 to every directory call.</summary>
    Unavailable,

    /// <summary>Reads the request and never answers (until the caller gives up or the mode changes).</summary>
    Hang,
}

/// <summary>
/// A control silo on real Kestrel at 127.0.0.1:0 that serves the directory API (docs/DIRECTORY.md) from an in-memory
/// table, counts the calls per path, and can go down (503 or hang) and recover. Any other request is answered like a
/// control silo: 200 <c>{"answeredBy":"control"}</c>.
/// </summary>
public sealed class ControlDirectoryStub : IAsyncDisposable
{
    public const string ApiPrefix = "/api/0/internal/integration-directory/";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<long, Organization> _organizations = new();
    private readonly ConcurrentDictionary<long, Integration> _integrations = new();
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RecordedRequest> _otherRequests = new();
    private readonly ConcurrentQueue<RecordedRequest> _directoryRequests = new();
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ControlDirectoryMode _mode = ControlDirectoryMode.Up;
    private TaskCompletionSource? _hold;

    private ControlDirectoryStub(WebApplication app)
    {
        _app = app;
    }

    public Uri Address { get; private set; } = null!;

    public ControlDirectoryMode Mode
    {
        get => _mode;
        set
        {
            _mode = value;
            // Hanging calls end when the mode changes: their callers have long given up.
            Interlocked.Exchange(ref _released, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>Directory calls wait (counted) until <see cref="ReleaseAnswers"/>, then answer as usual.</summary>
    public void HoldAnswers() => Volatile.Write(ref _hold, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void ReleaseAnswers() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();

    /// <summary>Requests that were not directory calls (what control would serve: install pages, challenges...).</summary>
    public IReadOnlyList<RecordedRequest> OtherRequests => _otherRequests.ToArray();

    /// <summary>The directory API calls, as received (headers and raw target: what an edge signature covers).</summary>
    public IReadOnlyList<RecordedRequest> DirectoryRequests => _directoryRequests.ToArray();

    public int TotalCalls => _calls.Values.Sum();

    public static string IntegrationPath(string provider, string externalId)
        => $"{ApiPrefix}integrations/{Uri.EscapeDataString(provider)}/{Uri.EscapeDataString(externalId)}";

    public static string IntegrationByIdPath(long id) => $"{ApiPrefix}integrations/by-id/{id}";

    public static string OrganizationPath(long id) => $"{ApiPrefix}organizations/{id}";

    public static async Task<ControlDirectoryStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stub = new ControlDirectoryStub(app);
        app.Run(stub.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub.Address = new Uri(address.TrimEnd('/') + "/");
        return stub;
    }

    public void SetOrganization(long id, string region, string status = "active", string? slug = null)
        => _organizations[id] = new Organization(id, slug ?? $"org-{id}", region, status);

    public void SetIntegration(long id, string provider, string externalId, string status, params long[] organizations)
        => _integrations[id] = new Integration(id, provider, externalId, status, organizations);

    /// <summary>Calls the stub received on <paramref name="path"/> (as the proxy sent it, escaped).</summary>
    public int Calls(string path) => _calls.GetValueOrDefault(path);

    /// <summary>Waits until <paramref name="path"/> was called at least <paramref name="count"/> times, or the timeout passed.</summary>
    public async Task<int> WaitForCallsAsync(string path, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Calls(path) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        return Calls(path);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var path = raw.Split('?')[0];
        if (!path.StartsWith(ApiPrefix, StringComparison.Ordinal))
        {
            await AnswerAsControlAsync(context);
            return;
        }

        _directoryRequests.Enqueue(new RecordedRequest(context.Request.Method, raw,
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), [], RawTarget: raw));
        _calls.AddOrUpdate(path, 1, (_, n) => n + 1);
        switch (Mode)
        {
            case ControlDirectoryMode.Unavailable:
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            case ControlDirectoryMode.Hang:
                try
                {
                    await Volatile.Read(ref _released).Task.WaitAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                return;
        }

        if (Volatile.Read(ref _hold) is { } hold)
        {
            await hold.Task.WaitAsync(context.RequestAborted);
        }

        var segments = path[ApiPrefix.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        object? answer = segments switch
        {
            ["integrations", "by-id", var id] when long.TryParse(id, out var n) => _integrations.TryGetValue(n, out var i) ? Describe(i) : null,
            ["integrations", var provider, var externalId] => _integrations.Values
                .FirstOrDefault(i => string.Equals(i.Provider, provider, StringComparison.OrdinalIgnoreCase) && i.ExternalId == externalId) is { } found
                ? Describe(found)
                : null,
            ["organizations", var id] when long.TryParse(id, out var n) => _organizations.TryGetValue(n, out var o) ? Describe(o) : null,
            _ => null,
        };
        if (answer is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(answer));
    }

    private async Task AnswerAsControlAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        _otherRequests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body.ToArray()));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("""{"answeredBy":"control"}""");
    }

    private Dictionary<string, object?> Describe(Integration integration) => new()
    {
        ["integrationId"] = integration.Id,
        ["status"] = integration.Status,
        ["organizations"] = integration.Organizations
            .Select(id => _organizations.TryGetValue(id, out var o) ? Describe(o) : null)
            .OfType<Dictionary<string, object?>>()
            .ToArray(),
    };

    private static Dictionary<string, object?> Describe(Organization organization) => new()
    {
        ["id"] = organization.Id,
        ["slug"] = organization.Slug,
        ["region"] = organization.Region,
        ["status"] = organization.Status,
    };

    public async ValueTask DisposeAsync()
    {
        Volatile.Read(ref _released).TrySetResult();
        ReleaseAnswers();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed record Organization(long Id, string Slug, string Region, string Status);

    private sealed record Integration(long Id, string Provider, string ExternalId, string Status, long[] Organizations);
}
