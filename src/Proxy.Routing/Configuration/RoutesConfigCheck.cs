using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;
using Yarp.ReverseProxy.Configuration;

namespace Proxy.Routing.Configuration;

/// <summary>
/// The <c>ReverseProxy</c> section of a config file, checked the way it will be used: fields YARP does not know (YARP
/// ignores them silently), routes naming a cluster that is not there, the control cluster, two clusters serving one
/// region, and whatever YARP's own <see cref="IConfigValidator"/> rejects. The section is read by YARP's own
/// configuration reader, so a value it cannot read (a bad duration) is reported as it would fail at load.
/// </summary>
internal sealed class RoutesConfigCheck(IConfigValidator validator, IOptionsMonitor<RoutingOptions> routing) : IConfigFileCheck
{
    private const string Section = "ReverseProxy";

    public IEnumerable<ConfigProblem> Check(ConfigFileDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var problems = UnknownFields(document).ToList();
        IProxyConfig config;
        try
        {
            config = Read(document.Settings.GetSection(Section));
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            problems.Add(ConfigProblem.At(document.File, document.LineOf(Section), "YARP cannot read ReverseProxy: " + Messages(ex)));
            return problems;
        }

        var clusters = config.Clusters.Select(c => c.ClusterId).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var route in config.Routes)
        {
            var key = $"{Section}:Routes:{route.RouteId}";
            if (route.ClusterId is { Length: > 0 } clusterId && !clusters.Contains(clusterId))
            {
                problems.Add(document.Problem(key + ":ClusterId", $"route '{route.RouteId}' names cluster '{clusterId}', which is not among the clusters"));
            }

            problems.AddRange(validator.ValidateRouteAsync(route).AsTask().GetAwaiter().GetResult()
                .Select(error => document.Problem(key, $"route '{route.RouteId}': {error.Message}")));
        }

        var regions = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var cluster in config.Clusters)
        {
            var key = $"{Section}:Clusters:{cluster.ClusterId}";
            problems.AddRange(validator.ValidateClusterAsync(cluster).AsTask().GetAwaiter().GetResult()
                .Select(error => document.Problem(key, $"cluster '{cluster.ClusterId}': {error.Message}")));
            if (cluster.Metadata?.GetValueOrDefault(RegionClusters.RegionMetadataKey) is { Length: > 0 } region
                && !regions.TryAdd(region, cluster.ClusterId))
            {
                problems.Add(document.Problem($"{key}:Metadata:{RegionClusters.RegionMetadataKey}",
                    $"cluster '{cluster.ClusterId}' serves region '{region}', which cluster '{regions[region]}' serves already"));
            }
        }

        var control = document.Settings[$"{RoutingOptions.Section}:{nameof(RoutingOptions.ControlCluster)}"] ?? routing.CurrentValue.ControlCluster;
        if (!clusters.Contains(control))
        {
            problems.Add(document.Problem($"{Section}:Clusters",
                $"the control cluster '{control}' ({RoutingOptions.Section}:{nameof(RoutingOptions.ControlCluster)}) is not among the clusters; without it the proxy is not ready"));
        }

        return problems;
    }

    /// <summary>The regions the clusters of <paramref name="document"/> serve (<c>Metadata:Region</c>).</summary>
    public static IReadOnlyList<string> RegionsOf(ConfigFileDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return document.Settings.GetSection($"{Section}:Clusters").GetChildren()
            .Select(c => c[$"Metadata:{RegionClusters.RegionMetadataKey}"])
            .OfType<string>()
            .Where(r => r.Length > 0)
            .ToArray();
    }

    /// <summary>The section as YARP's own configuration reader (the one <c>LoadFromConfig</c> uses) reads it.</summary>
    private static IProxyConfig Read(IConfigurationSection section)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddReverseProxy().LoadFromConfig(section);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IProxyConfigProvider>().GetConfig();
    }

    private static string Messages(Exception exception)
    {
        var messages = new List<string>();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }

        return string.Join(" ", messages.Distinct(StringComparer.Ordinal));
    }

    /// <summary>Keys under Routes and Clusters that name no property of YARP's config types, each named by its entry.</summary>
    private static IEnumerable<ConfigProblem> UnknownFields(ConfigFileDocument document)
    {
        var reported = new List<string>();
        foreach (var key in document.Keys.Order(StringComparer.OrdinalIgnoreCase))
        {
            var segments = key.Split(':');
            if (!segments[0].Equals(Section, StringComparison.OrdinalIgnoreCase) || segments.Length < 2
                || reported.Any(r => key.StartsWith(r + ":", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var (unknown, message) = segments[1] switch
            {
                _ when segments[1].Equals("Routes", StringComparison.OrdinalIgnoreCase) =>
                    segments.Length < 4 ? (null, null) : Unknown(typeof(RouteConfig), segments, 3, $"route '{segments[2]}'"),
                _ when segments[1].Equals("Clusters", StringComparison.OrdinalIgnoreCase) =>
                    segments.Length < 4 ? (null, null) : Unknown(typeof(ClusterConfig), segments, 3, $"cluster '{segments[2]}'"),
                _ => (key, $"unknown section '{segments[1]}' (ReverseProxy has Routes and Clusters)"),
            };
            if (unknown is not null)
            {
                reported.Add(unknown);
                yield return document.Problem(unknown, message!);
            }
        }
    }

    /// <summary>The first key of <paramref name="segments"/> from <paramref name="start"/> on that <paramref name="type"/> does not have.</summary>
    private static (string? Key, string? Message) Unknown(Type type, string[] segments, int start, string entry)
    {
        var current = type;
        var field = new List<string>();
        for (var i = start; i < segments.Length; i++)
        {
            var segment = segments[i];
            current = Nullable.GetUnderlyingType(current) ?? current;
            if (ElementOf(current) is { } element)
            {
                // A map or a list: the segment is a key or an index; free-form string maps (Metadata, Transforms) end the check.
                if (element == typeof(string) || ElementOf(element) == typeof(string))
                {
                    return (null, null);
                }

                if (current.GetGenericArguments().Length == 2 && element == typeof(DestinationConfig))
                {
                    entry += $" destination '{segment}'";
                    field.Clear();
                }
                else
                {
                    field.Add(segment);
                }

                current = element;
                continue;
            }

            var property = IsConfigType(current)
                ? current.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)
                : null;
            field.Add(segment);
            if (property is null)
            {
                return (string.Join(':', segments[..(i + 1)]), $"{entry}: unknown field '{string.Join(':', field)}'");
            }

            current = property.PropertyType;
        }

        return (null, null);
    }

    private static bool IsConfigType(Type type) => type.IsClass && type.Namespace?.StartsWith("Yarp.", StringComparison.Ordinal) == true;

    /// <summary>The value type of a dictionary or the element type of a list; null for anything else.</summary>
    private static Type? ElementOf(Type type)
    {
        if (!type.IsGenericType || type == typeof(string))
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        if (definition == typeof(IReadOnlyDictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(Dictionary<,>))
        {
            return arguments[1];
        }

        return definition == typeof(IReadOnlyList<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyCollection<>)
            || definition == typeof(List<>) || definition == typeof(IEnumerable<>)
            ? arguments[0]
            : null;
    }
}
