using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Regions.Control;

/// <summary>
/// <c>Directory:Source=Control</c>: target -> organizations -> regions from the control silo's directory API, sent
/// through the control cluster's own YARP client and cached in HybridCache (memory, plus Redis shared by replicas).
/// Concurrent misses of one key make one call (HybridCache's stampede protection). An answer of control is cached for
/// <c>CacheTtl</c>, a 404 for <c>NegativeCacheTtl</c>; an error or a timeout is never cached: the caller gets
/// <see cref="DirectoryUnavailableException"/>.
/// </summary>
internal sealed partial class ControlRegionDirectory(
    RegionRequestBuilder builder,
    HybridCache cache,
    IOptionsMonitor<RoutingOptions> routing,
    IOptionsMonitor<DirectoryOptions> options,
    ILogger<ControlRegionDirectory> logger) : IRegionDirectory
{
    public async ValueTask<RegionResolution> ResolveAsync(RoutingTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var settings = options.CurrentValue.Control;
        var lookup = Lookup.For(target, settings);
        var state = new FactoryState(this, lookup, settings);
        try
        {
            // The factory's answer reaches Redis once, by SetAsync, with the lifetime and tags of its kind: HybridCache
            // writes the second level in the background, and a second write could land after (and over) the first.
            var resolution = await cache.GetOrCreateAsync(lookup.Key, state, static (s, token) => s.Directory.FetchAsync(s, token),
                Entry(settings.NegativeCacheTtl, HybridCacheEntryFlags.DisableDistributedCacheWrite), lookup.Tags, cancellationToken);

            if (state.Created)
            {
                var ttl = resolution.Kind == ResolutionKind.UnknownTarget ? settings.NegativeCacheTtl : settings.CacheTtl;
                // Not the caller's token: an answer in hand is cached even when the caller has just given up.
                await cache.SetAsync(lookup.Key, resolution, Entry(ttl), state.Tags(), CancellationToken.None);
            }

            return resolution;
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new DirectoryUnavailableException($"the directory did not answer for {target} before the deadline", ex)
            {
                ErrorType = ForwardingErrors.Timeout,
            };
        }
    }

    private async ValueTask<RegionResolution> FetchAsync(FactoryState state, CancellationToken cancellationToken)
    {
        state.Created = true;
        var controlCluster = routing.CurrentValue.ControlCluster;
        if (!builder.TryPickCluster(controlCluster, "control", null, out var target, out var error))
        {
            LogUnavailable(logger, state.Lookup.Path, error, null);
            throw new DirectoryUnavailableException($"the control cluster '{controlCluster}' has no destination ({error})") { ErrorType = error };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(state.Settings.Timeout);
        using var request = RegionRequestBuilder.Build(
            new StoredRequest("GET", state.Lookup.Path, [new("Accept", "application/json")]), ReadOnlyMemory<byte>.Empty, target);
        try
        {
            using var response = await builder.SendAsync(target, request, timeout.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return RegionResolution.Unknown;
            }

            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                throw Unavailable(state, $"status_{status.ToString(CultureInfo.InvariantCulture)}", $"control answered {status}", null);
            }

            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            return state.Lookup.IsOrganization ? FromOrganization(state, body) : FromIntegration(state, body);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(state, ForwardingErrors.Timeout,
                $"control did not answer within {state.Settings.Timeout.TotalMilliseconds:0} ms", ex);
        }
        catch (HttpRequestException ex)
        {
            throw Unavailable(state, ForwardingErrors.Classify(ex), $"control could not be reached: {ex.Message}", ex);
        }
        catch (JsonException ex)
        {
            throw Unavailable(state, "malformed_answer", $"control's answer is not the directory contract: {ex.Message}", ex);
        }
    }

    private static RegionResolution FromIntegration(FactoryState state, byte[] body)
    {
        var answer = JsonSerializer.Deserialize(body, ControlDirectoryJsonContext.Default.ControlIntegrationAnswer)
            ?? throw new JsonException("the body is null");
        var organizations = answer.Organizations ?? [];
        state.IntegrationId = answer.IntegrationId;
        state.OrganizationIds = organizations.Select(o => o.Id).ToArray();
        if (!answer.IsActive)
        {
            return new RegionResolution(ResolutionKind.NoActiveOrganization, [], answer.IntegrationId);
        }

        var active = organizations
            .Where(o => o.IsActive)
            .Select(o => string.IsNullOrWhiteSpace(o.Region) ? throw new JsonException($"organization {o.Id} has no region")
                : new OrganizationRegion(o.Id, o.Slug, o.Region))
            .ToArray();
        var regions = active.Select(o => o.Region).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return regions.Length == 0
            ? new RegionResolution(ResolutionKind.NoActiveOrganization, [], answer.IntegrationId)
            : new RegionResolution(ResolutionKind.Found, regions, answer.IntegrationId) { Organizations = active };
    }

    private static RegionResolution FromOrganization(FactoryState state, byte[] body)
    {
        var answer = JsonSerializer.Deserialize(body, ControlDirectoryJsonContext.Default.ControlOrganizationAnswer)
            ?? throw new JsonException("the body is null");
        state.OrganizationIds = [answer.Id];
        if (!answer.IsActive)
        {
            return new RegionResolution(ResolutionKind.NoActiveOrganization, [], null);
        }

        return string.IsNullOrWhiteSpace(answer.Region)
            ? throw new JsonException($"organization {answer.Id} has no region")
            : new RegionResolution(ResolutionKind.Found, [answer.Region], null);
    }

    private DirectoryUnavailableException Unavailable(FactoryState state, string errorType, string message, Exception? inner)
    {
        LogUnavailable(logger, state.Lookup.Path, errorType, inner);
        return inner is null
            ? new DirectoryUnavailableException(message) { ErrorType = errorType }
            : new DirectoryUnavailableException(message, inner) { ErrorType = errorType };
    }

    private static HybridCacheEntryOptions Entry(TimeSpan ttl, HybridCacheEntryFlags flags = HybridCacheEntryFlags.None)
        => new() { Expiration = ttl, LocalCacheExpiration = ttl, Flags = flags };

    /// <summary>One target's cache key, its path on control and the tags known before control answered.</summary>
    internal sealed record Lookup(string Key, string Path, string[] Tags, bool IsOrganization)
    {
        public static Lookup For(RoutingTarget target, ControlDirectoryOptions settings) => target switch
        {
            RoutingTarget.ExternalIntegration external => new(
                DirectoryCacheTags.ExternalKey(external.Provider, external.ExternalId),
                settings.IntegrationPath
                    .Replace("{provider}", Uri.EscapeDataString(external.Provider), StringComparison.Ordinal)
                    .Replace("{externalId}", Uri.EscapeDataString(external.ExternalId), StringComparison.Ordinal),
                [DirectoryCacheTags.External(external.Provider, external.ExternalId)],
                false),
            RoutingTarget.IntegrationId byId => new(
                DirectoryCacheTags.IntegrationKey(byId.Id),
                settings.IntegrationByIdPath.Replace("{integrationId}", byId.Id.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal),
                [DirectoryCacheTags.Integration(byId.Id)],
                false),
            RoutingTarget.Organization organization => new(
                DirectoryCacheTags.OrganizationKey(organization.Id),
                settings.OrganizationPath.Replace("{organizationId}", organization.Id.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal),
                [DirectoryCacheTags.Organization(organization.Id)],
                true),
            _ => throw new ArgumentException($"unsupported routing target {target}", nameof(target)),
        };
    }

    private sealed class FactoryState(ControlRegionDirectory directory, Lookup lookup, ControlDirectoryOptions settings)
    {
        public ControlRegionDirectory Directory { get; } = directory;

        public Lookup Lookup { get; } = lookup;

        public ControlDirectoryOptions Settings { get; } = settings;

        public bool Created { get; set; }

        public long? IntegrationId { get; set; }

        public long[] OrganizationIds { get; set; } = [];

        /// <summary>Every tag the answer belongs to: its target's, its integration's and each organization's in it.</summary>
        public IEnumerable<string> Tags()
        {
            var tags = new List<string>(Lookup.Tags);
            if (IntegrationId is { } id)
            {
                tags.Add(DirectoryCacheTags.Integration(id));
            }

            tags.AddRange(OrganizationIds.Select(DirectoryCacheTags.Organization));
            return tags.Distinct(StringComparer.Ordinal);
        }
    }

    [LoggerMessage(EventId = 220, Level = LogLevel.Warning, Message = "The control directory could not answer GET {Path} ({ErrorType})")]
    private static partial void LogUnavailable(ILogger logger, string path, string errorType, Exception? exception);
}
