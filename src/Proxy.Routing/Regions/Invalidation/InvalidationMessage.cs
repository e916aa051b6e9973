namespace Proxy.Routing.Regions.Invalidation;

/// <summary>What one replica publishes to the others: the cache tags to drop, and who sent it (it skips its own).</summary>
internal sealed record InvalidationMessage(string Origin, IReadOnlyList<string> Tags);
