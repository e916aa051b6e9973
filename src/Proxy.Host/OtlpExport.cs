using OpenTelemetry.Exporter;

namespace Proxy.Host;

/// <summary>One OTLP signal and the path a collector's HTTP port serves it on.</summary>
internal sealed record OtlpSignal(string Name, string HttpPath)
{
    public static readonly OtlpSignal Traces = new("TRACES", "v1/traces");
    public static readonly OtlpSignal Metrics = new("METRICS", "v1/metrics");
    public static readonly OtlpSignal Logs = new("LOGS", "v1/logs");

    public static readonly IReadOnlyList<OtlpSignal> All = [Traces, Metrics, Logs];
}

/// <summary>
/// Where and how telemetry is exported, from the standard variables (or the same keys in any configuration source):
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (unset: nothing is exported), <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>
/// (<c>http/protobuf</c> by default, as a collector's port 4318 expects, or <c>grpc</c> for port 4317), the per-signal
/// <c>OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT</c> (used as written) and <c>OTEL_{TRACES,METRICS,LOGS}_EXPORTER</c>
/// (<c>otlp</c>, the default, or <c>none</c>). With http/protobuf the base endpoint gets the signal's path
/// (<c>/v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>). A value that cannot work stops the start, naming its key.
/// </summary>
internal sealed class OtlpExport
{
    public const string EndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolKey = "OTEL_EXPORTER_OTLP_PROTOCOL";

    private readonly Dictionary<OtlpSignal, Uri> _endpoints;

    private OtlpExport(Uri endpoint, OtlpExportProtocol protocol, Dictionary<OtlpSignal, Uri> endpoints, HashSet<OtlpSignal> enabled)
    {
        Endpoint = endpoint;
        Protocol = protocol;
        _endpoints = endpoints;
        Traces = enabled.Contains(OtlpSignal.Traces);
        Metrics = enabled.Contains(OtlpSignal.Metrics);
        Logs = enabled.Contains(OtlpSignal.Logs);
    }

    public Uri Endpoint { get; }

    public OtlpExportProtocol Protocol { get; }

    /// <summary>As the variable spells it: <c>http/protobuf</c> or <c>grpc</c>.</summary>
    public string ProtocolName => Protocol == OtlpExportProtocol.Grpc ? "grpc" : "http/protobuf";

    public bool Traces { get; }

    public bool Metrics { get; }

    public bool Logs { get; }

    /// <summary>The address a signal is sent to.</summary>
    public Uri EndpointFor(OtlpSignal signal) => _endpoints[signal];

    /// <summary>Null when no endpoint is set (nothing is exported).</summary>
    public static OtlpExport? From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration[EndpointKey];
        if (string.IsNullOrWhiteSpace(configured))
        {
            return null;
        }

        var errors = new List<string>();
        var endpoint = ParseEndpoint(EndpointKey, configured, errors);
        var protocolValue = configuration[ProtocolKey]?.Trim();
        var protocol = protocolValue switch
        {
            null or "" or "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            "grpc" => OtlpExportProtocol.Grpc,
            _ => Invalid(errors, $"{ProtocolKey} must be http/protobuf (the default) or grpc (was '{protocolValue}')."),
        };

        var endpoints = new Dictionary<OtlpSignal, Uri>();
        var enabled = new HashSet<OtlpSignal>();
        foreach (var signal in OtlpSignal.All)
        {
            var exporterKey = $"OTEL_{signal.Name}_EXPORTER";
            switch (configuration[exporterKey]?.Trim())
            {
                case null or "" or "otlp":
                    enabled.Add(signal);
                    break;
                case "none":
                    break;
                case var other:
                    errors.Add($"{exporterKey} must be otlp (the default) or none (was '{other}').");
                    break;
            }

            var signalKey = $"OTEL_EXPORTER_OTLP_{signal.Name}_ENDPOINT";
            var own = configuration[signalKey];
            if (!string.IsNullOrWhiteSpace(own))
            {
                endpoints[signal] = ParseEndpoint(signalKey, own, errors) ?? new Uri("http://invalid");
            }
            else if (endpoint is not null)
            {
                endpoints[signal] = protocol == OtlpExportProtocol.HttpProtobuf
                    ? new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signal.HttpPath)
                    : endpoint;
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        return new OtlpExport(endpoint!, protocol, endpoints, enabled);
    }

    /// <summary>The exporter of one signal: our endpoint and protocol; headers, timeouts... still come from <c>OTEL_*</c>.</summary>
    public void Configure(OtlpExporterOptions options, OtlpSignal signal)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Protocol = Protocol;
        options.Endpoint = EndpointFor(signal);
    }

    private static Uri? ParseEndpoint(string key, string value, List<string> errors)
    {
        if (Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        errors.Add($"{key} must be an absolute http:// or https:// address (was '{value}').");
        return null;
    }

    private static OtlpExportProtocol Invalid(List<string> errors, string error)
    {
        errors.Add(error);
        return OtlpExportProtocol.HttpProtobuf;
    }
}
