using System.Security.Cryptography;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Regions;

/// <summary>
/// One validated version of <c>directory.json</c> as routing tables: every target that can be asked for maps to its
/// ready answer, so <see cref="Resolve"/> is one dictionary read that allocates nothing. <see cref="Revision"/> is a
/// hash of the file, so every replica that loaded the same file agrees on it.
/// </summary>
public sealed class IntegrationDirectory
{
    private static readonly RegionResolution InactiveOrganization = new(ResolutionKind.NoActiveOrganization, [], null);

    private readonly Dictionary<(string Provider, string ExternalId), RegionResolution> _byExternalId;
    private readonly Dictionary<long, RegionResolution> _byIntegrationId;
    private readonly Dictionary<long, RegionResolution> _byOrganization;
    private readonly Dictionary<string, long[]> _activeOrganizationsByRegion;
    private readonly Dictionary<long, DirectoryOrganization> _organizations;
    private readonly Dictionary<long, DirectoryIntegration> _integrations;
    private readonly Dictionary<(string Provider, string ExternalId), DirectoryIntegration> _integrationsByExternalId;
    private readonly Dictionary<long, string> _organizationPlaces = [];

    private IntegrationDirectory(DirectoryDocument document, string revision)
    {
        Revision = revision;
        var organizations = document.Organizations.Select(o => o!).ToDictionary(o => o.Id);
        _organizations = organizations;
        for (var i = 0; i < document.OrganizationPlaces.Count; i++)
        {
            _organizationPlaces[document.Organizations[i]!.Id] = document.OrganizationPlaces[i];
        }

        _integrations = document.Integrations.Select(i => i!).ToDictionary(i => i.Id);
        _integrationsByExternalId = document.Integrations.Select(i => i!)
            .ToDictionary(i => (i.Provider!, i.ExternalId!), ProviderAndExternalIdComparer.Instance);
        _byOrganization = organizations.ToDictionary(
            p => p.Key,
            p => DirectoryStatus.IsActive(p.Value.Status)
                ? new RegionResolution(ResolutionKind.Found, Array.AsReadOnly([p.Value.Region!]), null)
                : InactiveOrganization);
        _activeOrganizationsByRegion = organizations.Values
            .Where(o => DirectoryStatus.IsActive(o.Status))
            .GroupBy(o => o.Region!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(o => o.Id).Order().ToArray(), StringComparer.Ordinal);

        _byIntegrationId = [];
        _byExternalId = new(ProviderAndExternalIdComparer.Instance);
        foreach (var integration in document.Integrations.Select(i => i!))
        {
            var resolution = ResolutionOf(integration, organizations);
            _byIntegrationId.Add(integration.Id, resolution);
            _byExternalId.Add((integration.Provider!, integration.ExternalId!), resolution);
        }
    }

    public string Revision { get; }

    public int OrganizationCount => _byOrganization.Count;

    public int IntegrationCount => _byIntegrationId.Count;

    /// <summary>The entries as written (the demo control silo serves them through the directory API).</summary>
    internal DirectoryIntegration? FindIntegration(string provider, string externalId)
        => _integrationsByExternalId.GetValueOrDefault((provider, externalId));

    internal DirectoryIntegration? FindIntegration(long id) => _integrations.GetValueOrDefault(id);

    internal DirectoryOrganization? FindOrganization(long id) => _organizations.GetValueOrDefault(id);

    /// <summary>The regions behind <paramref name="target"/>: one dictionary read, no allocation.</summary>
    public RegionResolution Resolve(RoutingTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        switch (target)
        {
            case RoutingTarget.ExternalIntegration external
                when _byExternalId.TryGetValue((external.Provider, external.ExternalId), out var byExternalId):
                return byExternalId;
            case RoutingTarget.IntegrationId integration when _byIntegrationId.TryGetValue(integration.Id, out var byIntegrationId):
                return byIntegrationId;
            case RoutingTarget.Organization organization when _byOrganization.TryGetValue(organization.Id, out var byOrganization):
                return byOrganization;
            default:
                return RegionResolution.Unknown;
        }
    }

    /// <summary>
    /// Regions that active organizations live in but that none of <paramref name="servedRegions"/> (the regions of the
    /// YARP clusters, matched case-insensitively as clusters are) serves, sorted by name.
    /// </summary>
    internal IReadOnlyList<RegionWithoutCluster> RegionsWithoutCluster(IEnumerable<string> servedRegions)
    {
        var served = new HashSet<string>(servedRegions, StringComparer.OrdinalIgnoreCase);
        return _activeOrganizationsByRegion
            .Where(p => !served.Contains(p.Key))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => new RegionWithoutCluster(p.Key, p.Value))
            .ToArray();
    }

    /// <summary>
    /// Parses and validates a directory file; the error names the file position of the offending entry, every problem
    /// of the file separated by <c>"; "</c>.
    /// </summary>
    public static IntegrationDirectory Parse(ReadOnlySpan<byte> utf8Json, string source = "directory.json")
    {
        var (directory, problems) = Check(utf8Json, source);
        return directory ?? throw new FormatException(string.Join("; ", problems));
    }

    /// <summary>The directory, or null and every problem found (a syntax error is the only one reported when there is one).</summary>
    internal static (IntegrationDirectory? Directory, IReadOnlyList<string> Problems) Check(ReadOnlySpan<byte> utf8Json, string source)
    {
        DirectoryDocument document;
        try
        {
            document = DirectoryJsonReader.Read(utf8Json, source);
        }
        catch (FormatException ex)
        {
            return (null, [ex.Message]);
        }

        var problems = Validate(document);
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        var revision = Convert.ToHexStringLower(SHA256.HashData(utf8Json))[..16];
        return (new IntegrationDirectory(document, revision), []);
    }

    /// <summary>Active organizations per region, sorted by region.</summary>
    internal SortedDictionary<string, int> ActiveOrganizationCounts()
        => new(_activeOrganizationsByRegion.ToDictionary(p => p.Key, p => p.Value.Length), StringComparer.Ordinal);

    /// <summary>Where the organization is written in the file (<c>directory.json line 3, column 5</c>), when it was read from one.</summary>
    internal string? PlaceOf(long organizationId) => _organizationPlaces.GetValueOrDefault(organizationId);

    private static RegionResolution ResolutionOf(DirectoryIntegration integration, Dictionary<long, DirectoryOrganization> organizations)
    {
        if (!DirectoryStatus.IsActive(integration.Status))
        {
            return new RegionResolution(ResolutionKind.NoActiveOrganization, [], integration.Id);
        }

        var active = integration.Organizations!
            .Select(id => organizations[id])
            .Where(o => DirectoryStatus.IsActive(o.Status))
            .Select(o => new OrganizationRegion(o.Id, o.Slug, o.Region!))
            .ToArray();
        var regions = active.Select(o => o.Region).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

        return regions.Length == 0
            ? new RegionResolution(ResolutionKind.NoActiveOrganization, [], integration.Id)
            : new RegionResolution(ResolutionKind.Found, Array.AsReadOnly(regions), integration.Id) { Organizations = Array.AsReadOnly(active) };
    }

    /// <summary>Every inconsistency of the document, each starting with the file position of its entry.</summary>
    private static List<string> Validate(DirectoryDocument document)
    {
        var problems = new List<string>();
        var organizationIds = new HashSet<long>();
        foreach (var (organization, index) in document.Organizations.Select((o, i) => (o, i)))
        {
            var where = At(document.OrganizationPlaces, index) + $"Organizations[{index}]";
            if (organization is null)
            {
                problems.Add($"{where} is null");
                continue;
            }

            if (!organizationIds.Add(organization.Id))
            {
                problems.Add($"{where}: duplicate organization id {organization.Id}");
            }

            if (string.IsNullOrWhiteSpace(organization.Region))
            {
                problems.Add($"{where} (id {organization.Id}): Region is required");
            }

            ValidateStatus(problems, organization.Status, $"{where} (id {organization.Id})");
        }

        var integrationIds = new HashSet<long>();
        var externalIds = new HashSet<(string, string)>(ProviderAndExternalIdComparer.Instance);
        foreach (var (integration, index) in document.Integrations.Select((x, i) => (x, i)))
        {
            var where = At(document.IntegrationPlaces, index) + $"Integrations[{index}]";
            if (integration is null)
            {
                problems.Add($"{where} is null");
                continue;
            }

            if (!integrationIds.Add(integration.Id))
            {
                problems.Add($"{where}: duplicate integration id {integration.Id}");
            }

            ValidateStatus(problems, integration.Status, $"{where} (id {integration.Id})");
            if (string.IsNullOrWhiteSpace(integration.Provider) || string.IsNullOrWhiteSpace(integration.ExternalId))
            {
                problems.Add($"{where} (id {integration.Id}): Provider and ExternalId are required");
            }
            else if (!externalIds.Add((integration.Provider, integration.ExternalId)))
            {
                problems.Add($"{where}: {integration.Provider} integration '{integration.ExternalId}' is listed twice");
            }

            // Without the list every webhook of the integration would fail; [] says "installed by no organization".
            if (integration.Organizations is null)
            {
                problems.Add(
                    $"{where} (id {integration.Id}): Organizations is required (the ids of the organizations that installed it, [] for none)");
                continue;
            }

            foreach (var organizationId in integration.Organizations.Where(id => !organizationIds.Contains(id)))
            {
                problems.Add($"{where} (id {integration.Id}): organization {organizationId} is not in Organizations");
            }
        }

        return problems;
    }

    private static string At(IReadOnlyList<string> places, int index) => index < places.Count ? places[index] + ": " : "";

    private static void ValidateStatus(List<string> problems, string? status, string where)
    {
        if (string.IsNullOrWhiteSpace(status))
        {
            problems.Add($"{where}: Status is required");
        }
        else if (!DirectoryStatus.IsKnown(status))
        {
            problems.Add($"{where}: unknown Status '{status}' (expected one of {string.Join(", ", DirectoryStatus.Known)})");
        }
    }

    /// <summary>Provider keys match case-insensitively, external ids exactly; neither allocates.</summary>
    private sealed class ProviderAndExternalIdComparer : IEqualityComparer<(string Provider, string ExternalId)>
    {
        public static ProviderAndExternalIdComparer Instance { get; } = new();

        public bool Equals((string Provider, string ExternalId) x, (string Provider, string ExternalId) y)
            => string.Equals(x.Provider, y.Provider, StringComparison.OrdinalIgnoreCase)
               && string.Equals(x.ExternalId, y.ExternalId, StringComparison.Ordinal);

        public int GetHashCode((string Provider, string ExternalId) obj)
            => HashCode.Combine(
                StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Provider),
                StringComparer.Ordinal.GetHashCode(obj.ExternalId));
    }
}
