using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Proxy.Routing.Regions;

namespace Proxy.Routing.Configuration;

/// <summary>
/// A JSON config file read as configuration (the stock JSON provider's keys and values) plus the 1-based line of every
/// key, so that a check can say where a problem is. A syntax error, an empty file or a key written twice (keys are
/// case-insensitive) is a problem of the file itself and leaves no document.
/// </summary>
public sealed class ConfigFileDocument
{
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private readonly Dictionary<string, long> _lines;

    private ConfigFileDocument(string file, Dictionary<string, string?> data, Dictionary<string, long> lines)
    {
        File = file;
        Data = data;
        _lines = lines;
        Settings = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
    }

    /// <summary>The file name used in messages (<c>proxy.json</c>).</summary>
    public string File { get; }

    /// <summary>Every key with a value, as the stock JSON configuration provider flattens it.</summary>
    public IReadOnlyDictionary<string, string?> Data { get; }

    /// <summary>The file's settings, for binding and reading sections.</summary>
    public IConfiguration Settings { get; }

    /// <summary>Every key written in the file (objects and arrays included), e.g. <c>ReverseProxy:Routes:r1:ClusterId</c>.</summary>
    public IEnumerable<string> Keys => _lines.Keys;

    /// <summary>The 1-based line where <paramref name="key"/> is written, or null when the file does not write it.</summary>
    public long? LineOf(string key) => _lines.TryGetValue(key, out var line) ? line : null;

    /// <summary>A problem at the line of <paramref name="key"/> (the file as a whole when the key is not written).</summary>
    public ConfigProblem Problem(string key, string message) => ConfigProblem.At(File, LineOf(key), message);

    /// <summary>Reads <paramref name="utf8Json"/>; either a document or the problems that prevent one.</summary>
    public static (ConfigFileDocument? Document, IReadOnlyList<ConfigProblem> Problems) Read(byte[] utf8Json, string file)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        var json = utf8Json.AsSpan().StartsWith("\uFEFF"u8) ? utf8Json.AsSpan(3) : utf8Json.AsSpan();
        if (json.Trim(" \t\r\n"u8).IsEmpty)
        {
            return (null, [new ConfigProblem($"{file} is empty")]);
        }

        var problems = new List<ConfigProblem>();
        Dictionary<string, long> lines;
        try
        {
            lines = Walk(json, file, problems);
        }
        catch (JsonException ex)
        {
            var (offset, line, column) = DirectoryJsonReader.Position(json, ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);
            var problem = offset >= json.Length
                ? "the file ends before the JSON is complete (an object or array is not closed)"
                : $"invalid JSON: {DirectoryJsonReader.WithoutPosition(ex.Message)}";
            return (null, [new ConfigProblem($"{file} line {line}, column {column}: {problem}")]);
        }

        if (problems.Count > 0)
        {
            return (null, problems);
        }

        try
        {
            using var stream = new MemoryStream(utf8Json);
            var data = new ConfigurationBuilder().AddJsonStream(stream).Build().AsEnumerable()
                .Where(pair => pair.Value is not null)
                .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.OrdinalIgnoreCase);
            return (new ConfigFileDocument(file, data, lines), []);
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or JsonException)
        {
            return (null, [ConfigProblem.At(file, null, ex.InnerException?.Message ?? ex.Message)]);
        }
    }

    /// <summary>Every key and its line; a key written twice in one object is a problem (configuration would keep only one).</summary>
    private static Dictionary<string, long> Walk(ReadOnlySpan<byte> json, string file, List<ConfigProblem> problems)
    {
        var lines = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        var reader = new Utf8JsonReader(json, ReaderOptions);
        // Per open object or array: its key, and for an array the index of its next element.
        var open = new Stack<(string Key, bool IsArray, int Next)>();
        string? pending = null;
        long line = 1, counted = 0;
        while (reader.Read())
        {
            line += json[(int)counted..(int)reader.TokenStartIndex].Count((byte)'\n');
            counted = reader.TokenStartIndex;
            if (open.Count == 0 && reader.TokenType != JsonTokenType.StartObject)
            {
                problems.Add(new ConfigProblem($"{file} line {line}: expected a JSON object at the top of the file"));
                return lines;
            }

            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                var (parent, _, _) = open.Peek();
                pending = parent.Length == 0 ? reader.GetString()! : parent + ":" + reader.GetString();
                if (lines.TryGetValue(pending, out var first))
                {
                    problems.Add(new ConfigProblem($"{file} line {line}: {pending} is written twice (first at line {first}; keys ignore case)"));
                }
                else
                {
                    lines[pending] = line;
                }

                continue;
            }

            if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                open.Pop();
                continue;
            }

            var key = pending ?? "";
            pending = null;
            if (open.Count > 0 && open.Peek() is { IsArray: true } array)
            {
                open.Pop();
                open.Push(array with { Next = array.Next + 1 });
                key = (array.Key.Length == 0 ? "" : array.Key + ":") + array.Next;
                lines.TryAdd(key, line);
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                open.Push((key, reader.TokenType == JsonTokenType.StartArray, 0));
            }
        }

        return lines;
    }
}
