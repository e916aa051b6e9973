using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Regions;

/// <summary>
/// Target -> active organizations -> regions. This is the only lookup in the routing path; answers are cached in
/// memory and, when Redis is configured, in Redis shared by every replica. Keys carry the directory revision, so an
/// edited directory never serves stale routes.
/// </summary>
public sealed partial class RegionResolver(
    IIntegrationDirectorySource source,
    HybridCache cache,
    IOptionsMonitor<RoutingOptions> options,
    ILogger<RegionResolver> logger)
{
    public async ValueTask<RegionResolution> ResolveAsync(RoutingTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var directory = source.Current;
        var key = $"edge-proxy:regions:{directory.Revision}:{target}";
        var settings = options.CurrentValue;
        var state = new FactoryState(directory, target);
        try
        {
            // The factory's result is written to Redis once, by SetAsync, with the lifetime its kind deserves: a miss
            // is cached too (a flood of unknown ids must not reach the source), but not for as long.
            var resolution = await cache.GetOrCreateAsync(key, state, static (s, _) =>
            {
                s.Created = true;
                return ValueTask.FromResult(Resolve(s.Directory, s.Target));
            }, Entry(settings.NegativeCacheTtl, HybridCacheEntryFlags.DisableDistributedCacheWrite), cancellationToken: cancellationToken);

            if (state.Created)
            {
                var ttl = resolution.Kind == ResolutionKind.Found ? settings.CacheTtl : settings.NegativeCacheTtl;
                await cache.SetAsync(key, resolution, Entry(ttl), cancellationToken: cancellationToken);
            }

            return resolution;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The cache is an optimisation: when it fails (Redis down), answer from the directory itself.
            LogCacheFailure(logger, ex);
            return Resolve(directory, target);
        }
    }

    /// <summary>The uncached answer, straight from one directory version.</summary>
    public static RegionResolution Resolve(IntegrationDirectory directory, RoutingTarget target)
    {
        ArgumentNullException.ThrowIfNull(directory);
        switch (target)
        {
            case RoutingTarget.ExternalIntegration external:
                return FromIntegration(directory, directory.FindIntegration(external.Provider, external.ExternalId));
            case RoutingTarget.IntegrationId byId:
                return FromIntegration(directory, directory.FindIntegration(byId.Id));
            case RoutingTarget.Organization organization:
                var found = directory.FindOrganization(organization.Id);
                if (found is null)
                {
                    return RegionResolution.Unknown;
                }

                return found.IsActive
                    ? new RegionResolution(ResolutionKind.Found, [found.Region], null)
                    : new RegionResolution(ResolutionKind.NoActiveOrganization, [], null);
            default:
                return RegionResolution.Unknown;
        }
    }

    private static RegionResolution FromIntegration(IntegrationDirectory directory, DirectoryIntegration? integration)
    {
        if (integration is null)
        {
            return RegionResolution.Unknown;
        }

        if (!integration.IsActive)
        {
            return new RegionResolution(ResolutionKind.NoActiveOrganization, [], integration.Id);
        }

        var regions = integration.Organizations
            .Select(directory.FindOrganization)
            .Where(o => o is { IsActive: true })
            .Select(o => o!.Region)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();

        return regions.Length == 0
            ? new RegionResolution(ResolutionKind.NoActiveOrganization, [], integration.Id)
            : new RegionResolution(ResolutionKind.Found, regions, integration.Id);
    }

    private static HybridCacheEntryOptions Entry(TimeSpan ttl, HybridCacheEntryFlags flags = HybridCacheEntryFlags.None)
        => new() { Expiration = ttl, LocalCacheExpiration = ttl, Flags = flags };

    private sealed class FactoryState(IntegrationDirectory directory, RoutingTarget target)
    {
        public IntegrationDirectory Directory { get; } = directory;

        public RoutingTarget Target { get; } = target;

        public bool Created { get; set; }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Region cache failed; resolving from the directory")]
    private static partial void LogCacheFailure(ILogger logger, Exception exception);
}
