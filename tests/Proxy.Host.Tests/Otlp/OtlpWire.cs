using System.Text;
using Google.Protobuf;

namespace Proxy.Host.Tests.Otlp;

/// <summary>A span as an OTLP/HTTP export carried it; ids in lowercase hex.</summary>
public sealed record OtlpSpan(
    string Service,
    string Scope,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string Name,
    int Kind,
    IReadOnlyDictionary<string, object?> Attributes,
    IReadOnlyList<(string TraceId, string SpanId)> Links,
    int StatusCode)
{
    public const int KindServer = 2;
    public const int KindClient = 3;
    public const int KindProducer = 4;
    public const int KindConsumer = 5;
    public const int StatusError = 2;

    public object? this[string attribute] => Attributes.TryGetValue(attribute, out var value) ? value : null;
}

/// <summary>One data point of a metric: a sum's or gauge's value, a histogram's count.</summary>
public sealed record OtlpPoint(string Service, string Scope, string Metric, string Unit, IReadOnlyDictionary<string, object?> Attributes, double Value)
{
    public object? this[string attribute] => Attributes.TryGetValue(attribute, out var value) ? value : null;
}

/// <summary>One log record.</summary>
public sealed record OtlpLog(string Service, string Scope, string TraceId, string SpanId, int Severity, string? Body);

/// <summary>
/// Reads the OTLP protobuf messages (opentelemetry/proto/collector/*/v1) with Google.Protobuf's wire reader: only the
/// fields the tests look at, every other field skipped as the wire format allows.
/// </summary>
public static class OtlpWire
{
    private readonly record struct Field(int Number, ulong Scalar, ByteString? Bytes);

    private static List<Field> Fields(ByteString message)
    {
        var fields = new List<Field>();
        var input = new CodedInputStream(message.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.Varint:
                    fields.Add(new Field(number, input.ReadUInt64(), null));
                    break;
                case WireFormat.WireType.Fixed64:
                    fields.Add(new Field(number, input.ReadFixed64(), null));
                    break;
                case WireFormat.WireType.Fixed32:
                    fields.Add(new Field(number, input.ReadFixed32(), null));
                    break;
                case WireFormat.WireType.LengthDelimited:
                    fields.Add(new Field(number, 0, input.ReadBytes()));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return fields;
    }

    private static IEnumerable<ByteString> Messages(ByteString message, int number)
        => Fields(message).Where(f => f.Number == number && f.Bytes is not null).Select(f => f.Bytes!);

    private static ByteString? Message(ByteString message, int number) => Messages(message, number).FirstOrDefault();

    private static string Text(ByteString message, int number) => Message(message, number)?.ToStringUtf8() ?? "";

    private static ulong Scalar(ByteString message, int number) => Fields(message).FirstOrDefault(f => f.Number == number).Scalar;

    private static string Hex(ByteString message, int number) => Convert.ToHexStringLower(Message(message, number)?.ToByteArray() ?? []);

    /// <summary>AnyValue: string 1, bool 2, int 3, double 4, array 5, bytes 7.</summary>
    private static object? Value(ByteString? any)
    {
        if (any is null)
        {
            return null;
        }

        foreach (var field in Fields(any))
        {
            switch (field.Number)
            {
                case 1: return field.Bytes!.ToStringUtf8();
                case 2: return field.Scalar != 0;
                case 3: return (long)field.Scalar;
                case 4: return BitConverter.Int64BitsToDouble((long)field.Scalar);
                case 5: return Messages(field.Bytes!, 1).Select(Value).ToList();
                case 7: return field.Bytes!.ToByteArray();
            }
        }

        return null;
    }

    /// <summary>KeyValue: key 1, value 2.</summary>
    private static Dictionary<string, object?> Attributes(ByteString message, int number)
    {
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var pair in Messages(message, number))
        {
            attributes[Text(pair, 1)] = Value(Message(pair, 2));
        }

        return attributes;
    }

    /// <summary>The resource's <c>service.name</c>, and each scope's name with its items.</summary>
    private static IEnumerable<(string Service, string Scope, ByteString Item)> Items(ByteString request, int itemField)
    {
        foreach (var resourceItems in Messages(request, 1))
        {
            var service = Message(resourceItems, 1) is { } resource ? Attributes(resource, 1).GetValueOrDefault("service.name") as string ?? "" : "";
            foreach (var scopeItems in Messages(resourceItems, 2))
            {
                var scope = Message(scopeItems, 1) is { } instrumentation ? Text(instrumentation, 1) : "";
                foreach (var item in Messages(scopeItems, itemField))
                {
                    yield return (service, scope, item);
                }
            }
        }
    }

    /// <summary>ExportTraceServiceRequest -> ResourceSpans -> ScopeSpans -> Span.</summary>
    public static IEnumerable<OtlpSpan> Spans(byte[] request) => Items(ByteString.CopyFrom(request), 2).Select(item =>
    {
        var span = item.Item;
        var links = Messages(span, 13).Select(link => (Hex(link, 1), Hex(link, 2))).ToList();
        var status = Message(span, 15) is { } s ? (int)Scalar(s, 3) : 0;
        return new OtlpSpan(item.Service, item.Scope, Hex(span, 1), Hex(span, 2), Hex(span, 4), Text(span, 5), (int)Scalar(span, 6),
            Attributes(span, 9), links, status);
    }).ToList();

    /// <summary>ExportMetricsServiceRequest -> ResourceMetrics -> ScopeMetrics -> Metric (gauge 5, sum 7, histogram 9).</summary>
    public static IEnumerable<OtlpPoint> Points(byte[] request)
    {
        var points = new List<OtlpPoint>();
        foreach (var (service, scope, metric) in Items(ByteString.CopyFrom(request), 2))
        {
            var (name, unit) = (Text(metric, 1), Text(metric, 3));
            foreach (var data in Fields(metric).Where(f => f.Number is 5 or 7 or 9 && f.Bytes is not null))
            {
                foreach (var point in Messages(data.Bytes!, 1))
                {
                    double value;
                    Dictionary<string, object?> attributes;
                    if (data.Number == 9)
                    {
                        value = Scalar(point, 4);
                        attributes = Attributes(point, 9);
                    }
                    else
                    {
                        var number = Fields(point).FirstOrDefault(f => f.Number is 4 or 6);
                        value = number.Number == 4 ? BitConverter.Int64BitsToDouble((long)number.Scalar) : (long)number.Scalar;
                        attributes = Attributes(point, 7);
                    }

                    points.Add(new OtlpPoint(service, scope, name, unit, attributes, value));
                }
            }
        }

        return points;
    }

    /// <summary>ExportLogsServiceRequest -> ResourceLogs -> ScopeLogs -> LogRecord.</summary>
    public static IEnumerable<OtlpLog> Logs(byte[] request) => Items(ByteString.CopyFrom(request), 2).Select(item =>
    {
        var record = item.Item;
        var body = Value(Message(record, 5));
        return new OtlpLog(item.Service, item.Scope, Hex(record, 9), Hex(record, 10), (int)Scalar(record, 2),
            body as string ?? (body is null ? null : Encoding.UTF8.GetString(body as byte[] ?? [])));
    }).ToList();
}
