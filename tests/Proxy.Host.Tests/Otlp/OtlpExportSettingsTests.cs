using OpenTelemetry.Exporter;

namespace Proxy.Host.Tests.Otlp;

/// <summary>How OTEL_* settings become the exporters' endpoints and protocol.</summary>
public sealed class OtlpExportSettingsTests
{
    private static OtlpExport? From(params (string Key, string Value)[] settings)
        => OtlpExport.From(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    [Fact]
    public void Nothing_is_exported_without_an_endpoint() => From().Should().BeNull();

    [Fact]
    public void Only_the_endpoint_means_http_protobuf_with_each_signals_path()
    {
        var export = From(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"))!;

        export.Protocol.Should().Be(OtlpExportProtocol.HttpProtobuf);
        export.EndpointFor(OtlpSignal.Traces).Should().Be(new Uri("http://127.0.0.1:4318/v1/traces"));
        export.EndpointFor(OtlpSignal.Metrics).Should().Be(new Uri("http://127.0.0.1:4318/v1/metrics"));
        export.EndpointFor(OtlpSignal.Logs).Should().Be(new Uri("http://127.0.0.1:4318/v1/logs"));
        (export.Traces, export.Metrics, export.Logs).Should().Be((true, true, true));
    }

    [Fact]
    public void An_explicit_grpc_is_honoured_and_its_endpoint_kept_as_written()
    {
        var export = From(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))!;

        export.Protocol.Should().Be(OtlpExportProtocol.Grpc);
        export.EndpointFor(OtlpSignal.Traces).Should().Be(new Uri("http://collector:4317"));
    }

    [Fact]
    public void A_signal_endpoint_is_used_as_written_and_a_signal_can_be_turned_off()
    {
        var export = From(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base/"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/in"), ("OTEL_LOGS_EXPORTER", "none"))!;

        export.EndpointFor(OtlpSignal.Traces).Should().Be(new Uri("http://traces:9999/in"));
        export.EndpointFor(OtlpSignal.Metrics).Should().Be(new Uri("http://collector:4318/base/v1/metrics"));
        export.Logs.Should().BeFalse();
        export.Traces.Should().BeTrue();
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf (the default) or grpc (was 'http/json').")]
    [InlineData("OTEL_LOGS_EXPORTER", "console", "OTEL_LOGS_EXPORTER must be otlp (the default) or none (was 'console').")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http:// or https:// address (was 'collector:4318').")]
    public void A_value_that_cannot_work_stops_the_start_naming_its_key(string key, string value, string message)
    {
        var settings = key == "OTEL_EXPORTER_OTLP_ENDPOINT"
            ? new[] { (key, value) }
            : [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), (key, value)];

        FluentActions.Invoking(() => From(settings)).Should().Throw<InvalidOperationException>().WithMessage(message);
    }
}
