using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Proxy.Billing.Flags;

/// <summary>
/// A short read-through memory cache over the store, like the reference's 300 s model cache. Only projects that
/// exist are cached; a miss asks the store again next time.
/// </summary>
internal sealed class ProjectFlagsCache(IProjectFlagsStore store, TimeProvider timeProvider, IOptions<BillingOptions> options)
{
    // Bounded crudely: past this many projects the cache starts over, which costs only store reads.
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<long, (ProjectFlags Flags, DateTimeOffset Expires)> _entries = new();

    public async ValueTask<ProjectFlags?> GetFlagsAsync(long projectId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_entries.TryGetValue(projectId, out var entry) && entry.Expires > now)
        {
            return entry.Flags;
        }

        var flags = await store.GetFlagsAsync(projectId, cancellationToken);
        Remember(projectId, flags);
        return flags;
    }

    public async ValueTask<ProjectFlags?> AddFlagsAsync(long projectId, ProjectFlags flags, CancellationToken cancellationToken)
    {
        var after = await store.AddFlagsAsync(projectId, flags, cancellationToken);
        Remember(projectId, after);
        return after;
    }

    private void Remember(long projectId, ProjectFlags? flags)
    {
        if (flags is not { } value)
        {
            _entries.TryRemove(projectId, out _);
            return;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[projectId] = (value, timeProvider.GetUtcNow() + options.Value.Flags.ProjectCacheTtl);
    }
}
