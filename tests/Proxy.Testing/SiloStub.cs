using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Proxy.Testing;

/// <summary>
/// What a silo stub received, byte for byte, and over which HTTP version (<c>HTTP/1.1</c>...); <c>RawTarget</c> is the
/// request target exactly as on the request line (what an edge signature covers).
/// </summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body,
    string Protocol = "HTTP/1.1", string? RawTarget = null)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>How a silo stub answers one request.</summary>
public sealed record StubAnswer(int Status = 200, TimeSpan Delay = default, string? Body = null, IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>
/// A control or region silo on real Kestrel at 127.0.0.1:0. It records every request and answers as told
/// (by default 200 with <c>{"answeredBy":"name"}</c>).
/// </summary>
public sealed class SiloStub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private int _count;
    private int _completed;

    private SiloStub(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    public string Name { get; }

    public Uri Address { get; private set; } = null!;

    /// <summary>Decides the answer to the n-th request (1-based). Replace it to script failures or delays.</summary>
    public Func<RecordedRequest, int, StubAnswer> Answer { get; set; } = (_, _) => new StubAnswer();

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>Requests answered in full (a request whose client went away during its delay is not counted).</summary>
    public int Completed => Volatile.Read(ref _completed);

    public static async Task<SiloStub> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stub = new SiloStub(name, app);
        app.Run(stub.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub.Address = new Uri(address.TrimEnd('/') + "/");
        return stub;
    }

    public async Task<IReadOnlyList<RecordedRequest>> WaitForRequestsAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (_requests.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return Requests;
    }

    /// <summary>Forgets what was recorded (a long test measuring memory does not count the stub's own records).</summary>
    public void ClearRequests() => _requests.Clear();

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers,
            body.ToArray(), context.Request.Protocol, context.Features.Get<IHttpRequestFeature>()?.RawTarget);
        var number = Interlocked.Increment(ref _count);
        _requests.Enqueue(recorded);

        var answer = Answer(recorded, number);
        if (answer.Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(answer.Delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        context.Response.StatusCode = answer.Status;
        foreach (var (key, value) in answer.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[key] = value;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer.Body ?? $"{{\"answeredBy\":\"{Name}\"}}");
        Interlocked.Increment(ref _completed);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
