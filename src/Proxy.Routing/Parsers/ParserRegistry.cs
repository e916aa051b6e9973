using System.Diagnostics.CodeAnalysis;

namespace Proxy.Routing.Parsers;

/// <summary>The registered parsers, by provider key.</summary>
public sealed class ParserRegistry(IEnumerable<IIntegrationParser> parsers)
{
    private readonly Dictionary<string, IIntegrationParser> _byProvider =
        parsers.ToDictionary(p => p.Provider, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> Providers => _byProvider.Keys;

    public bool TryGet(string provider, [NotNullWhen(true)] out IIntegrationParser? parser)
        => _byProvider.TryGetValue(provider, out parser);
}
