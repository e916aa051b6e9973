using System.Text.Json;

namespace Proxy.Routing.Regions;

/// <summary>
/// Reads <c>directory.json</c> token by token, so that every error gives a 1-based line and column and speaks of the
/// file's own fields (<c>expected a number for Organizations[0].Id</c>), never of .NET types.
/// </summary>
internal ref struct DirectoryJsonReader
{
    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private readonly ReadOnlySpan<byte> _json;
    private readonly string _source;
    private Utf8JsonReader _reader;

    private DirectoryJsonReader(ReadOnlySpan<byte> json, string source)
    {
        _json = json;
        _source = source;
        _reader = new Utf8JsonReader(json, Options);
    }

    /// <summary>Reads the document; a <see cref="FormatException"/> names the file, the line, the column and the field.</summary>
    public static DirectoryDocument Read(ReadOnlySpan<byte> utf8Json, string source)
    {
        // Editors on Windows may save a byte order mark; it is not JSON.
        var json = utf8Json.StartsWith("\uFEFF"u8) ? utf8Json[3..] : utf8Json;
        if (json.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw new FormatException($"{source} is empty");
        }

        var reader = new DirectoryJsonReader(json, source);
        try
        {
            return reader.ReadDocument();
        }
        catch (JsonException ex)
        {
            // Only the tokenizer throws JsonException here: a syntax error. Its positions are 0-based and in bytes.
            var (offset, line, column) = Position(json, ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);
            var problem = offset >= json.Length
                ? "the file ends before the JSON is complete (an object or array is not closed)"
                : $"invalid JSON: {WithoutPosition(ex.Message)}";
            throw new FormatException($"{source} line {line}, column {column}: {problem}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // The tokenizer accepts any bytes inside quotes; reading them as text is where invalid UTF-8 shows.
            throw new FormatException(reader.Error("the text is not valid UTF-8").Message, ex);
        }
    }

    private DirectoryDocument ReadDocument()
    {
        if (Next() != JsonTokenType.StartObject)
        {
            throw Error("expected an object with Organizations and Integrations");
        }

        List<DirectoryOrganization?> organizations = [];
        List<DirectoryIntegration?> integrations = [];
        List<string> organizationPlaces = [];
        List<string> integrationPlaces = [];
        while (NextProperty() is { } name)
        {
            var at = _reader.TokenStartIndex;
            Next();
            if (Is(name, "Organizations"))
            {
                ReadOrganizations(organizations, organizationPlaces);
            }
            else if (Is(name, "Integrations"))
            {
                ReadIntegrations(integrations, integrationPlaces);
            }
            else
            {
                throw Error(UnknownProperty(name, null), at);
            }
        }

        // Anything after the root object (other than whitespace and comments) is a syntax error of the tokenizer.
        _reader.Read();
        return new DirectoryDocument(organizations, integrations) { OrganizationPlaces = organizationPlaces, IntegrationPlaces = integrationPlaces };
    }

    private void ReadOrganizations(List<DirectoryOrganization?> into, List<string> places)
    {
        if (!StartList("Organizations"))
        {
            return;
        }

        for (var index = 0; Next() != JsonTokenType.EndArray; index++)
        {
            places.Add(Place(_reader.TokenStartIndex));
            into.Add(_reader.TokenType == JsonTokenType.Null ? null : ReadOrganization($"Organizations[{index}]"));
        }
    }

    private void ReadIntegrations(List<DirectoryIntegration?> into, List<string> places)
    {
        if (!StartList("Integrations"))
        {
            return;
        }

        for (var index = 0; Next() != JsonTokenType.EndArray; index++)
        {
            places.Add(Place(_reader.TokenStartIndex));
            into.Add(_reader.TokenType == JsonTokenType.Null ? null : ReadIntegration($"Integrations[{index}]"));
        }
    }

    /// <summary>True at the start of a top-level list; false for null, which is an empty list.</summary>
    private readonly bool StartList(string name) => _reader.TokenType switch
    {
        JsonTokenType.StartArray => true,
        JsonTokenType.Null => false,
        _ => throw Error($"expected an array for {name}"),
    };

    private DirectoryOrganization ReadOrganization(string where)
    {
        var start = ExpectObject(where);
        long? id = null;
        string? slug = null, region = null, status = null;
        while (NextProperty() is { } name)
        {
            var at = _reader.TokenStartIndex;
            Next();
            if (Is(name, "Id"))
            {
                id = ReadInteger($"{where}.Id");
            }
            else if (Is(name, "Slug"))
            {
                slug = ReadString($"{where}.Slug");
            }
            else if (Is(name, "Region"))
            {
                region = ReadString($"{where}.Region");
            }
            else if (Is(name, "Status"))
            {
                status = ReadString($"{where}.Status");
            }
            else
            {
                throw Error(UnknownProperty(name, where), at);
            }
        }

        return new DirectoryOrganization(id ?? throw Error($"{where}: Id is required", start), slug, region, status);
    }

    private DirectoryIntegration ReadIntegration(string where)
    {
        var start = ExpectObject(where);
        long? id = null;
        string? provider = null, externalId = null, status = null;
        List<long>? organizations = null;
        while (NextProperty() is { } name)
        {
            var at = _reader.TokenStartIndex;
            Next();
            if (Is(name, "Id"))
            {
                id = ReadInteger($"{where}.Id");
            }
            else if (Is(name, "Provider"))
            {
                provider = ReadString($"{where}.Provider");
            }
            else if (Is(name, "ExternalId"))
            {
                externalId = ReadString($"{where}.ExternalId");
            }
            else if (Is(name, "Status"))
            {
                status = ReadString($"{where}.Status");
            }
            else if (Is(name, "Organizations"))
            {
                organizations = ReadIntegers($"{where}.Organizations");
            }
            else
            {
                throw Error(UnknownProperty(name, where), at);
            }
        }

        return new DirectoryIntegration(id ?? throw Error($"{where}: Id is required", start), provider, externalId, status, organizations);
    }

    private List<long>? ReadIntegers(string where)
    {
        if (_reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (_reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error($"expected an array of organization ids for {where}");
        }

        List<long> values = [];
        for (var index = 0; Next() != JsonTokenType.EndArray; index++)
        {
            values.Add(ReadInteger($"{where}[{index}]"));
        }

        return values;
    }

    private long ReadInteger(string where)
    {
        if (_reader.TokenType != JsonTokenType.Number)
        {
            throw Error($"expected a number for {where}");
        }

        return _reader.TryGetInt64(out var value) ? value : throw Error($"expected a whole number for {where}");
    }

    private string? ReadString(string where) => _reader.TokenType switch
    {
        JsonTokenType.String => _reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw Error($"expected a string for {where}"),
    };

    private long ExpectObject(string where)
    {
        if (_reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"expected an object for {where}");
        }

        return _reader.TokenStartIndex;
    }

    /// <summary>The next property name of the current object, or null at its end.</summary>
    private string? NextProperty() => Next() == JsonTokenType.EndObject ? null : _reader.GetString();

    private JsonTokenType Next()
    {
        if (!_reader.Read())
        {
            throw Error("the file ends before the JSON is complete (an object or array is not closed)", _json.Length);
        }

        return _reader.TokenType;
    }

    private static bool Is(string name, string expected) => string.Equals(name, expected, StringComparison.OrdinalIgnoreCase);

    private static string UnknownProperty(string name, string? where)
        => where is null ? $"unknown property '{name}'" : $"unknown property '{name}' in {where}";

    private readonly FormatException Error(string message) => Error(message, _reader.TokenStartIndex);

    private readonly FormatException Error(string message, long offset) => new($"{Place(offset)}: {message}");

    /// <summary>The file, 1-based line and column of a byte offset, as every message of this reader starts.</summary>
    private readonly string Place(long offset)
    {
        var before = _json[..(int)Math.Min(offset, _json.Length)];
        var lineStart = before.LastIndexOf((byte)'\n') + 1;
        var line = before.Count((byte)'\n') + 1;
        return $"{_source} line {line}, column {Characters(before[lineStart..]) + 1}";
    }

    /// <summary>The byte offset and the 1-based line and character column of a tokenizer position.</summary>
    internal static (long Offset, long Line, long Column) Position(ReadOnlySpan<byte> json, long line, long bytePositionInLine)
    {
        var lineStart = 0;
        for (var i = 0L; i < line; i++)
        {
            var next = json[lineStart..].IndexOf((byte)'\n');
            if (next < 0)
            {
                break;
            }

            lineStart += next + 1;
        }

        var rest = json[lineStart..];
        var inLine = (int)Math.Min(bytePositionInLine, rest.Length);
        return (lineStart + inLine, line + 1, Characters(rest[..inLine]) + 1);
    }

    /// <summary>UTF-8 bytes to characters as an editor counts them: continuation bytes are not characters.</summary>
    private static int Characters(ReadOnlySpan<byte> utf8)
    {
        var count = 0;
        foreach (var b in utf8)
        {
            if ((b & 0xC0) != 0x80)
            {
                count++;
            }
        }

        return count;
    }

    internal static string WithoutPosition(string message)
    {
        var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at < 0 ? message : message[..at]).TrimEnd(' ', '|', '.') + ".";
    }
}
