using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Proxy.Routing.Configuration;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;
using Proxy.Routing.Regions;
using Proxy.Routing.Requests;
using Proxy.Routing.Telemetry;
using Yarp.ReverseProxy;

namespace Proxy.Routing.Admin;

/// <summary>
/// Operator endpoints behind the admin key (and on the admin listener when <c>Admin:Urls</c> is set):
/// <c>GET /admin/routing</c> (routes, clusters, regions, destination health as YARP sees it, config file status),
/// <c>GET /admin/directory</c> (the directory's source and size) and <c>POST /admin/explain</c> (a dry run: where a pasted
/// webhook would go and why, decided by the same parser, directory and dispatch plan as real routing, nothing sent).
/// </summary>
public static class OperatorEndpoints
{
    public const string RoutingPath = "/admin/routing";
    public const string DirectoryPath = "/admin/directory";
    public const string ExplainPath = "/admin/explain";

    public static IEndpointRouteBuilder MapOperatorEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("");
        group.AddEndpointFilter(async (context, next) =>
            await AdminKey.AuthorizeAsync(context.HttpContext, context.HttpContext.RequestServices.GetRequiredService<IConfiguration>())
                ? await next(context)
                : Results.Empty);
        group.MapGet(RoutingPath, RoutingTable);
        group.MapGet(DirectoryPath, DirectorySummary);
        group.MapPost(ExplainPath, ExplainAsync);
        return endpoints;
    }

    private static IResult RoutingTable(IProxyStateLookup state, RegionClusters regions, IOptionsMonitor<RoutingOptions> options,
        IEnumerable<ConfigFileStatus> files, IServiceProvider services)
    {
        var statuses = files.ToList();
        if (services.GetService<IIntegrationDirectorySource>() is DirectoryFileSource directoryFile && !statuses.Contains(directoryFile.Status))
        {
            statuses.Add(directoryFile.Status);
        }

        return Results.Ok(new
        {
            controlCluster = options.CurrentValue.ControlCluster,
            routes = state.GetRoutes().Select(r => r.Config).OrderBy(r => r.Order ?? 0).ThenBy(r => r.RouteId, StringComparer.Ordinal).Select(r => new
            {
                id = r.RouteId,
                path = r.Match.Path,
                methods = r.Match.Methods,
                hosts = r.Match.Hosts,
                order = r.Order,
                cluster = r.ClusterId,
                integrationRouting = IsWebhookRoute(r.Metadata),
            }),
            clusters = state.GetClusters().OrderBy(c => c.ClusterId, StringComparer.Ordinal).Select(c => new
            {
                id = c.ClusterId,
                region = c.Model.Config.Metadata?.GetValueOrDefault(RegionClusters.RegionMetadataKey),
                availableDestinations = c.DestinationsState.AvailableDestinations.Count,
                destinations = c.Destinations.Values.OrderBy(d => d.DestinationId, StringComparer.Ordinal).Select(d => new
                {
                    id = d.DestinationId,
                    address = d.Model.Config.Address,
                    health = new { active = d.Health.Active.ToString(), passive = d.Health.Passive.ToString() },
                    concurrentRequests = d.ConcurrentRequestCount,
                }),
            }),
            regions = regions.RegionNames().ToDictionary(r => r, r => regions.ForRegion(r)!.ClusterId),
            configFiles = statuses.Select(f => new { path = f.Path, loaded = f.Loaded, lastLoadedAt = f.LastLoadedAt, lastError = f.LastError }),
        });
    }

    private static IResult DirectorySummary(IOptions<DirectoryOptions> options, IServiceProvider services)
    {
        if (options.Value.UsesControl)
        {
            return Results.Ok(new { source = DirectoryOptions.ControlSource, organizations = (int?)null, integrations = (int?)null });
        }

        var source = services.GetRequiredService<IIntegrationDirectorySource>();
        var directory = source.Current;
        var file = source as DirectoryFileSource;
        return Results.Ok(new
        {
            source = DirectoryOptions.FileSource,
            path = file?.Path,
            revision = directory.Revision,
            loadedAt = file?.Status.LastLoadedAt,
            lastError = file?.Status.LastError,
            organizations = directory.OrganizationCount,
            integrations = directory.IntegrationCount,
            activeOrganizationsByRegion = directory.ActiveOrganizationCounts(),
        });
    }

    private static async Task ExplainAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var settings = services.GetRequiredService<IOptionsMonitor<RoutingOptions>>().CurrentValue;
        // A pasted webhook as JSON text (base64 or escaped) is larger than the webhook; allow for that.
        var limit = settings.MaxBodyBytes * 2 + 64 * 1024;
        var json = await ReadBoundedAsync(context.Request.Body, limit, context.RequestAborted);
        var (webhook, error) = json is null ? (null, $"the body is larger than {limit} bytes") : ExplainRequest.Read(json);
        if (webhook is null)
        {
            await ProblemResponse.WriteAsync(context, 400, ProblemTypes.MalformedBody, ProblemResponse.TitleFor(400),
                $"{error}; send {{\"method\":\"POST\",\"path\":\"/extensions/slack/commands/\",\"headers\":{{...}},\"body\":\"...\"}}");
            return;
        }

        var answer = await services.GetRequiredService<RouteExplainer>().ExplainAsync(webhook, settings, context.RequestAborted);
        await Results.Ok(answer).ExecuteAsync(context);
    }

    private static async Task<byte[]?> ReadBoundedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    internal static bool IsWebhookRoute(IReadOnlyDictionary<string, string>? metadata)
        => metadata is not null && metadata.TryGetValue(IntegrationRoutingMiddleware.RouteMetadataKey, out var enabled)
            && string.Equals(enabled, "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The answer of <c>POST /admin/explain</c>.</summary>
/// <param name="Decision">The parser's decision: control, reject, respond or to_regions; not_routed when no route matches; proxy for a plain YARP route.</param>
/// <param name="Mode">What routing does: control, first_region, all_regions, mailbox, deferred, no_region, reject, respond or proxy.</param>
internal sealed record ExplainAnswer(
    string? Provider,
    string? Route,
    string Decision,
    string Reason,
    string? Target,
    IReadOnlyList<string> Regions,
    string Mode,
    string? Mailbox)
{
    /// <summary>The status answered at the edge (reject, respond, no_region).</summary>
    public int? Status { get; init; }

    public string? ProblemType { get; init; }

    /// <summary>The cluster YARP forwards to (control, first region, plain routes).</summary>
    public string? Cluster { get; init; }

    /// <summary>Regions of the target that no cluster serves (left out of the mailbox).</summary>
    public IReadOnlyList<string> SkippedRegions { get; init; } = [];

    /// <summary>Always false: the dry run sends nothing.</summary>
    public bool Sent { get; init; }
}

/// <summary>
/// Runs real routing's decision steps over a pasted webhook without sending it: the YARP route by path (and methods),
/// <see cref="RoutingDecider"/> (signature, parser), the region directory and <see cref="WebhookDispatcher.Plan"/>.
/// Rate limits and the duplicate check are not consulted: the answer is where a first delivery would go.
/// </summary>
internal sealed class RouteExplainer(IProxyStateLookup state, RoutingDecider decider, IRegionDirectory directory, WebhookDispatcher dispatcher,
    RegionClusters clusters)
{
    public async Task<ExplainAnswer> ExplainAsync(WebhookRequest webhook, RoutingOptions settings, CancellationToken cancellationToken)
    {
        var route = MatchRoute(webhook);
        if (route is null)
        {
            return new ExplainAnswer(null, null, "not_routed", $"no route matches {webhook.Method} {webhook.Path}", null, [], "not_routed", null)
            {
                Status = StatusCodes.Status404NotFound,
            };
        }

        if (!OperatorEndpoints.IsWebhookRoute(route.Metadata))
        {
            return new ExplainAnswer(null, route.RouteId, "proxy", $"route '{route.RouteId}' is a plain YARP route", null, [], "proxy", null)
            {
                Cluster = route.ClusterId,
            };
        }

        var provider = WebhookPath.ProviderOf(webhook.Path) ?? "unknown";
        var intent = decider.Decide(provider, webhook);
        switch (intent)
        {
            case RoutingIntent.Reject reject:
                return new ExplainAnswer(provider, route.RouteId, "reject", reject.Detail, null, [], RoutingModes.Reject, null)
                {
                    Status = reject.Status,
                    ProblemType = reject.ProblemType,
                };
            case RoutingIntent.Respond respond:
                return new ExplainAnswer(provider, route.RouteId, "respond", respond.Reason, null, [], RoutingModes.Respond, null)
                {
                    Status = respond.Status,
                };
            case RoutingIntent.ToRegions toRegions:
                return await ToRegionsAsync(provider, route.RouteId, toRegions, settings, cancellationToken);
            default:
                return new ExplainAnswer(provider, route.RouteId, "control", intent.Reason, null, [], RoutingModes.Control, null)
                {
                    Cluster = settings.ControlCluster,
                };
        }
    }

    private async Task<ExplainAnswer> ToRegionsAsync(string provider, string routeId, RoutingIntent.ToRegions intent, RoutingOptions settings,
        CancellationToken cancellationToken)
    {
        var target = intent.Target.ToString();
        RegionResolution resolution;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(settings.SyncDeadline);
            resolution = await directory.ResolveAsync(intent.Target, deadline.Token);
        }
        catch (Exception ex) when (ex is DirectoryUnavailableException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new ExplainAnswer(provider, routeId, "to_regions", "the integration directory could not be read", target, [], RoutingModes.Reject, null)
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                ProblemType = ProblemTypes.DirectoryUnavailable,
            };
        }

        if (intent.Organization is { } organization && resolution.Kind == ResolutionKind.Found)
        {
            resolution = resolution.NarrowTo(organization);
        }

        var plan = dispatcher.Plan(provider, intent, resolution);
        var reason = plan.Detail is null ? intent.Reason : $"{intent.Reason}; {plan.Detail}";
        var mailbox = plan.Mode == RoutingModes.Mailbox && MailboxAccept.Identifier(intent, resolution) is { } identifier
            ? $"{provider}:{identifier}"
            : null;
        var cluster = plan.Mode switch
        {
            RoutingModes.FirstRegion => clusters.ForRegion(plan.Regions[0])?.ClusterId,
            RoutingModes.Control => settings.ControlCluster,
            _ => null,
        };
        return new ExplainAnswer(provider, routeId, "to_regions", reason, target, plan.Regions, plan.Mode, mailbox)
        {
            Status = plan.Status,
            ProblemType = plan.ProblemType,
            Cluster = cluster,
            SkippedRegions = plan.Skipped,
        };
    }

    /// <summary>The route YARP would pick by path and methods (lowest Order first); hosts and header matches are not weighed.</summary>
    private Yarp.ReverseProxy.Configuration.RouteConfig? MatchRoute(WebhookRequest webhook)
    {
        foreach (var route in state.GetRoutes().Select(r => r.Config).OrderBy(r => r.Order ?? 0))
        {
            if (route.Match.Methods is { Count: > 0 } methods && !methods.Contains(webhook.Method, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (route.Match.Path is not { } path)
            {
                return route;
            }

            var matcher = new TemplateMatcher(TemplateParser.Parse(path), new RouteValueDictionary());
            if (matcher.TryMatch(webhook.Path, new RouteValueDictionary()))
            {
                return route;
            }
        }

        return null;
    }
}
