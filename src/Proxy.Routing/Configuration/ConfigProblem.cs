namespace Proxy.Routing.Configuration;

/// <summary>One thing wrong with a config file, as one line an operator reads: <c>proxy.json line 7: …</c>.</summary>
public sealed record ConfigProblem(string Text)
{
    /// <summary>A problem at a 1-based line of <paramref name="file"/>, or of the whole file when the line is unknown.</summary>
    public static ConfigProblem At(string file, long? line, string message)
        => new(line is { } at ? $"{file} line {at}: {message}" : $"{file}: {message}");

    public override string ToString() => Text;
}
