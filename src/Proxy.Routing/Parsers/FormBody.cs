using System.Text;
using System.Text.Unicode;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// A form body as a provider sends it: <c>application/x-www-form-urlencoded</c> or <c>multipart/form-data</c> (the
/// reference's views read both, as any Django view does). Fields are found without building the whole form; a
/// urlencoded value is still encoded, a multipart value is the part's raw bytes. Both kinds share the body cap of the
/// request reader and the field-count cap here; a multipart body also has its boundary and part headers capped.
/// </summary>
internal readonly struct FormBody
{
    /// <summary>At most this many fields are read from a multipart body (ASP.NET Core's form value-count default).</summary>
    public const int MaxFields = 1024;

    /// <summary>RFC 2046: a boundary is 1 to 70 characters.</summary>
    public const int MaxBoundaryLength = 70;

    /// <summary>The headers of one part may take this many bytes (ASP.NET Core's multipart header default).</summary>
    public const int MaxPartHeaderBytes = 16 * 1024;

    private readonly ReadOnlyMemory<byte> _body;
    private readonly (string Name, Range Value)[]? _parts;

    private FormBody(ReadOnlyMemory<byte> body, (string Name, Range Value)[]? parts)
    {
        _body = body;
        _parts = parts;
    }

    /// <summary>True when values are percent-encoded (urlencoded); false when they are raw part bytes (multipart).</summary>
    public bool IsEncoded => _parts is null;

    public ReadOnlyMemory<byte> Body => _body;

    /// <summary>
    /// Reads the form: multipart when the Content-Type says so (it must then carry a usable boundary), urlencoded
    /// otherwise. False with a reason when the body is not UTF-8 or the multipart framing is broken.
    /// </summary>
    public static bool TryRead(WebhookRequest request, out FormBody form, out string? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        form = default;
        if (!Utf8.IsValid(request.Body.Span))
        {
            error = "is not valid UTF-8";
            return false;
        }

        if (!request.IsMultipartForm)
        {
            form = new FormBody(request.Body, null);
            error = null;
            return true;
        }

        var boundary = BoundaryOf(request.ContentType);
        if (boundary is null)
        {
            error = "is multipart/form-data without a usable boundary";
            return false;
        }

        var parts = MultipartFields(request.Body.Span, boundary, out error);
        if (parts is null)
        {
            return false;
        }

        form = new FormBody(request.Body, parts);
        return true;
    }

    /// <summary>Where the value of the first field named <paramref name="name"/> lies in the body.</summary>
    public bool TryFind(string name, out Range value)
    {
        if (_parts is null)
        {
            return FormFields.TryFind(_body.Span, name, out value);
        }

        foreach (var part in _parts)
        {
            if (part.Name == name)
            {
                value = part.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>The text of the first field named <paramref name="name"/>; null when absent.</summary>
    public string? Get(string name) => TryFind(name, out var value) ? Text(_body.Span[value]) : null;

    /// <summary>The text of a value found by <see cref="TryFind"/>.</summary>
    public string? Text(ReadOnlySpan<byte> value) => IsEncoded ? FormFields.Decode(value) : Encoding.UTF8.GetString(value);

    private static string? BoundaryOf(string? contentType)
    {
        if (contentType is null)
        {
            return null;
        }

        foreach (var parameter in contentType.Split(';').Skip(1))
        {
            var equals = parameter.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0 || !parameter[..equals].Trim().Equals("boundary", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = parameter[(equals + 1)..].Trim();
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
            {
                value = value[1..^1];
            }

            return value.Length is > 0 and <= MaxBoundaryLength && Ascii.IsValid(value) ? value : null;
        }

        return null;
    }

    /// <summary>
    /// The named fields of a multipart body (parts with a <c>filename</c> are files, not fields, and are skipped);
    /// null with a reason when the framing is broken or a cap is passed.
    /// </summary>
    private static (string Name, Range Value)[]? MultipartFields(ReadOnlySpan<byte> body, string boundary, out string? error)
    {
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        var nextDelimiter = Encoding.ASCII.GetBytes("\r\n--" + boundary);
        var fields = new List<(string, Range)>();
        var start = body.IndexOf(delimiter);
        if (start < 0)
        {
            error = "has no multipart boundary line";
            return null;
        }

        var offset = start + delimiter.Length;
        var parts = 0;
        while (true)
        {
            var rest = body[offset..];
            if (rest.StartsWith("--"u8))
            {
                error = null;
                return [.. fields];
            }

            if (!rest.StartsWith("\r\n"u8))
            {
                error = "has a boundary line not followed by CRLF";
                return null;
            }

            if (++parts > MaxFields)
            {
                error = $"has more than {MaxFields} parts";
                return null;
            }

            offset += 2;
            rest = body[offset..];
            var headerEnd = rest.IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0 || headerEnd > MaxPartHeaderBytes)
            {
                error = headerEnd < 0 ? "has a part whose headers never end" : $"has part headers over {MaxPartHeaderBytes} bytes";
                return null;
            }

            var name = FieldName(Encoding.UTF8.GetString(rest[..headerEnd]), out var isFile);
            var valueStart = offset + headerEnd + 4;
            var valueLength = body[valueStart..].IndexOf(nextDelimiter);
            if (valueLength < 0)
            {
                error = "has a part that is never closed by the boundary";
                return null;
            }

            if (name is not null && !isFile)
            {
                fields.Add((name, new Range(valueStart, valueStart + valueLength)));
            }

            offset = valueStart + valueLength + nextDelimiter.Length;
        }
    }

    /// <summary>The <c>name</c> of a part's <c>Content-Disposition: form-data</c> header.</summary>
    private static string? FieldName(string headers, out bool isFile)
    {
        isFile = false;
        foreach (var line in headers.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !line[..colon].Trim().Equals("Content-Disposition", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            string? name = null;
            foreach (var parameter in line[(colon + 1)..].Split(';').Skip(1))
            {
                var equals = parameter.IndexOf('=', StringComparison.Ordinal);
                if (equals < 0)
                {
                    continue;
                }

                var key = parameter[..equals].Trim();
                var value = parameter[(equals + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                if (key.Equals("name", StringComparison.OrdinalIgnoreCase))
                {
                    name = value;
                }
                else if (key.Equals("filename", StringComparison.OrdinalIgnoreCase) || key.Equals("filename*", StringComparison.OrdinalIgnoreCase))
                {
                    isFile = true;
                }
            }

            return name;
        }

        return null;
    }
}
