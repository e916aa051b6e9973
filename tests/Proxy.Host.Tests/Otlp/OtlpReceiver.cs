using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Proxy.Host.Tests.Otlp;

/// <summary>What an exporter posted: the path, its content type and how many items it decoded to.</summary>
public sealed record OtlpRequest(string Path, string? ContentType, int Items);

/// <summary>
/// A collector's OTLP/HTTP port on real Kestrel at 127.0.0.1:0: it decodes every export (<see cref="OtlpWire"/>) and
/// answers 200 with an empty Export*ServiceResponse, as a collector does. Its own requests are not traced by the proxy
/// under test (it uses its own activity source and diagnostic listener in place of <c>Microsoft.AspNetCore</c>).
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public ConcurrentQueue<OtlpSpan> Spans { get; } = new();

    public ConcurrentQueue<OtlpPoint> Points { get; } = new();

    public ConcurrentQueue<OtlpLog> Logs { get; } = new();

    public ConcurrentQueue<OtlpRequest> Requests { get; } = new();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new ActivitySource("OtlpReceiver"));
        builder.Services.AddSingleton(new DiagnosticListener("OtlpReceiver"));
        builder.Services.AddSingleton<DiagnosticSource>(provider => provider.GetRequiredService<DiagnosticListener>());
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", context => receiver.ReceiveAsync(context, body => Add(receiver.Spans, OtlpWire.Spans(body))));
        app.MapPost("/v1/metrics", context => receiver.ReceiveAsync(context, body => Add(receiver.Points, OtlpWire.Points(body))));
        app.MapPost("/v1/logs", context => receiver.ReceiveAsync(context, body => Add(receiver.Logs, OtlpWire.Logs(body))));
        app.MapFallback(context =>
        {
            receiver.Requests.Enqueue(new OtlpRequest(context.Request.Path, context.Request.ContentType, 0));
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await app.StartAsync();
        receiver.Address = new Uri(app.Urls.First());
        return receiver;
    }

    private static int Add<T>(ConcurrentQueue<T> queue, IEnumerable<T> items)
    {
        var count = 0;
        foreach (var item in items)
        {
            queue.Enqueue(item);
            count++;
        }

        return count;
    }

    private async Task ReceiveAsync(HttpContext context, Func<byte[], int> decode)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var count = decode(body.ToArray());
        Requests.Enqueue(new OtlpRequest(context.Request.Path, context.Request.ContentType, count));
        context.Response.ContentType = "application/x-protobuf";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
