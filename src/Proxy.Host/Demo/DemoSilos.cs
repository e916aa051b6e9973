using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;

namespace Proxy.Host.Demo;

/// <summary>
/// <c>--demo</c>: a control silo and region silos on loopback that answer with their own name, so a newcomer can watch
/// where each webhook goes. The silos and their addresses come from <c>Demo:Silos</c> in the demo config.
/// </summary>
internal sealed partial class DemoSilos(IConfiguration configuration, ILogger<DemoSilos> logger) : IHostedService
{
    private readonly List<WebApplication> _silos = [];

    /// <summary>The demo config folder, unless the command line names another one.</summary>
    public static void ApplyDefaults(IConfigurationManager configuration, string[] args)
    {
        if (!args.Any(a => a.Contains(Proxy.Routing.IntegrationRoutingExtensions.ConfigDirKey, StringComparison.OrdinalIgnoreCase)))
        {
            configuration[Proxy.Routing.IntegrationRoutingExtensions.ConfigDirKey] = "config/demo";
        }

        // Ctrl+C or SIGTERM ends the demo within 2 s: a mailbox delivery still in flight then is cancelled (not an
        // attempt: it is sent again at the next start) instead of being awaited for up to the production 30 s.
        configuration["HostOptions:ShutdownTimeout"] ??= "00:00:02";
        configuration["Demo:Silos:control"] ??= "http://127.0.0.1:5101";
        configuration["Demo:Silos:eu"] ??= "http://127.0.0.1:5102";
        configuration["Demo:Silos:us"] ??= "http://127.0.0.1:5103";
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // A real silo spends time on each request (database, business logic); benchmarks set it to see legs overlap.
        var delay = TimeSpan.FromMilliseconds(configuration.GetValue("Demo:AnswerDelayMs", 0));
        foreach (var silo in configuration.GetSection("Demo:Silos").GetChildren())
        {
            var builder = WebApplication.CreateSlimBuilder([HostingExtensions.NoSettingsWatch]);
            builder.WebHost.UseUrls(silo.Value!);
            builder.Logging.ClearProviders();
            OwnTelemetry(builder.Services);
            var app = builder.Build();
            var name = silo.Key;
            if (name == "control")
            {
                // The control silo also serves the directory API that Directory:Source=Control asks.
                var directoryFile = Path.Combine(configuration[Proxy.Routing.IntegrationRoutingExtensions.ConfigDirKey] ?? "config", "directory.json");
                DemoDirectoryApi.Map(app, directoryFile);
            }

            app.MapFallback(context => AnswerAsync(context, name, delay, logger));
            await app.StartAsync(cancellationToken);
            _silos.Add(app);
            LogStarted(logger, name, silo.Value!);
        }
    }

    /// <summary>
    /// The silos run in the proxy's process but are not the proxy: their requests get an activity source and a
    /// diagnostic listener of their own (so the proxy's tracing, subscribed to <c>Microsoft.AspNetCore</c>, does not see
    /// them; the proxy's own call to a silo is still traced) and their meters names of their own
    /// (<see cref="DemoMeterFactory"/>): nothing of theirs lands in the proxy's service.
    /// </summary>
    private static void OwnTelemetry(IServiceCollection services)
    {
        services.AddSingleton(new ActivitySource(DemoMeterFactory.SourceName));
        services.AddSingleton(new DiagnosticListener(DemoMeterFactory.SourceName));
        services.AddSingleton<DiagnosticSource>(provider => provider.GetRequiredService<DiagnosticListener>());
        services.AddSingleton<IMeterFactory, DemoMeterFactory>();
    }

    private static async Task AnswerAsync(HttpContext context, string silo, TimeSpan delay, ILogger logger)
    {
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, context.RequestAborted);
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var path = context.Request.Path + context.Request.QueryString;
        var deliveryId = context.Request.Headers["X-Proxy-Delivery-Id"].ToString();
        LogReceived(logger, silo, context.Request.Method, path, body.Length, deliveryId);
        context.Response.ContentType = "application/json";

        // Handshakes a provider checks before it sends anything else; control owns them.
        if (HandshakeAnswer(context.Request.Path, body.ToArray()) is { } handshake)
        {
            await context.Response.WriteAsync(handshake, context.RequestAborted);
            return;
        }

        var answer = new Dictionary<string, object?>
        {
            ["answeredBy"] = silo,
            ["method"] = context.Request.Method,
            ["path"] = context.Request.Path.Value + context.Request.QueryString.Value,
            ["bodyBytes"] = body.Length,
            ["forwardedFor"] = context.Request.Headers["X-Forwarded-For"].ToString(),
        };
        await context.Response.WriteAsync(JsonSerializer.Serialize(answer), context.RequestAborted);
    }

    /// <summary>
    /// Slack's <c>url_verification</c> expects its challenge echoed back; a Discord PING (interaction type 1) expects a
    /// PONG (<c>{"type":1}</c>), or Discord refuses the interactions endpoint.
    /// </summary>
    private static string? HandshakeAnswer(PathString path, byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type))
            {
                return null;
            }

            if (type.ValueKind == JsonValueKind.String && type.ValueEquals("url_verification")
                && root.TryGetProperty("challenge", out var challenge) && challenge.ValueKind == JsonValueKind.String)
            {
                return JsonSerializer.Serialize(new Dictionary<string, string?> { ["challenge"] = challenge.GetString() });
            }

            return type.ValueKind == JsonValueKind.Number && type.TryGetInt32(out var kind) && kind == 1
                && path.StartsWithSegments("/extensions/discord", StringComparison.OrdinalIgnoreCase)
                ? """{"type":1}"""
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var silo in _silos)
        {
            await silo.StopAsync(cancellationToken);
            await silo.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = 901, Level = LogLevel.Information,
        Message = "Demo silo '{Silo}' received {Method} {Path} ({Bytes} bytes) {DeliveryId}")]
    private static partial void LogReceived(ILogger logger, string silo, string method, string path, long bytes, string deliveryId);

    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Demo silo '{Silo}' listening on {Url}")]
    private static partial void LogStarted(ILogger logger, string silo, string url);
}
