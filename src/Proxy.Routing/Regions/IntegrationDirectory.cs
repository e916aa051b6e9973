using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Proxy.Routing.Regions;

/// <summary>An organization and the region that holds its data.</summary>
public sealed record DirectoryOrganization(long Id, string Slug, string Region, string Status)
{
    public bool IsActive => string.Equals(Status, "active", StringComparison.OrdinalIgnoreCase);
}

/// <summary>An installed integration and the organizations that installed it.</summary>
public sealed record DirectoryIntegration(long Id, string Provider, string ExternalId, string Status, IReadOnlyList<long> Organizations)
{
    public bool IsActive => string.Equals(Status, "active", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The file format of <c>directory.json</c>.</summary>
public sealed record DirectoryDocument(IReadOnlyList<DirectoryOrganization>? Organizations, IReadOnlyList<DirectoryIntegration>? Integrations);

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(DirectoryDocument))]
internal sealed partial class DirectoryJsonContext : JsonSerializerContext;

/// <summary>
/// One validated version of the integration directory, indexed for lookups. <see cref="Revision"/> is a hash of the
/// file, so every replica that loaded the same file agrees on it (it is part of the shared cache keys).
/// </summary>
public sealed class IntegrationDirectory
{
    private readonly Dictionary<(string Provider, string ExternalId), DirectoryIntegration> _byExternalId;
    private readonly Dictionary<long, DirectoryIntegration> _byId;
    private readonly Dictionary<long, DirectoryOrganization> _organizations;

    private IntegrationDirectory(DirectoryDocument document, string revision)
    {
        Revision = revision;
        _organizations = (document.Organizations ?? []).ToDictionary(o => o.Id);
        _byId = (document.Integrations ?? []).ToDictionary(i => i.Id);
        _byExternalId = (document.Integrations ?? []).ToDictionary(i => (i.Provider.ToLowerInvariant(), i.ExternalId));
    }

    public string Revision { get; }

    public int OrganizationCount => _organizations.Count;

    public int IntegrationCount => _byId.Count;

    public DirectoryIntegration? FindIntegration(string provider, string externalId)
        => _byExternalId.GetValueOrDefault((provider.ToLowerInvariant(), externalId));

    public DirectoryIntegration? FindIntegration(long id) => _byId.GetValueOrDefault(id);

    public DirectoryOrganization? FindOrganization(long id) => _organizations.GetValueOrDefault(id);

    /// <summary>Parses and validates a directory file; the error names the offending entry.</summary>
    public static IntegrationDirectory Parse(ReadOnlySpan<byte> utf8Json)
    {
        DirectoryDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(utf8Json, DirectoryJsonContext.Default.DirectoryDocument);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not a valid directory document: {ex.Message}", ex);
        }

        if (document is null)
        {
            throw new FormatException("the directory document is empty");
        }

        Validate(document);
        var revision = Convert.ToHexStringLower(SHA256.HashData(utf8Json))[..16];
        return new IntegrationDirectory(document, revision);
    }

    private static void Validate(DirectoryDocument document)
    {
        var organizationIds = new HashSet<long>();
        foreach (var (organization, index) in (document.Organizations ?? []).Select((o, i) => (o, i)))
        {
            var where = $"Organizations[{index}]";
            if (organization is null)
            {
                throw new FormatException($"{where} is null");
            }

            if (!organizationIds.Add(organization.Id))
            {
                throw new FormatException($"{where}: duplicate organization id {organization.Id}");
            }

            if (string.IsNullOrWhiteSpace(organization.Region))
            {
                throw new FormatException($"{where} (id {organization.Id}): Region is required");
            }

            if (string.IsNullOrWhiteSpace(organization.Status))
            {
                throw new FormatException($"{where} (id {organization.Id}): Status is required");
            }
        }

        var integrationIds = new HashSet<long>();
        var externalIds = new HashSet<(string, string)>();
        foreach (var (integration, index) in (document.Integrations ?? []).Select((x, i) => (x, i)))
        {
            var where = $"Integrations[{index}]";
            if (integration is null)
            {
                throw new FormatException($"{where} is null");
            }

            if (!integrationIds.Add(integration.Id))
            {
                throw new FormatException($"{where}: duplicate integration id {integration.Id}");
            }

            if (string.IsNullOrWhiteSpace(integration.Provider) || string.IsNullOrWhiteSpace(integration.ExternalId))
            {
                throw new FormatException($"{where} (id {integration.Id}): Provider and ExternalId are required");
            }

            if (string.IsNullOrWhiteSpace(integration.Status))
            {
                throw new FormatException($"{where} (id {integration.Id}): Status is required");
            }

            if (!externalIds.Add((integration.Provider.ToLowerInvariant(), integration.ExternalId)))
            {
                throw new FormatException(
                    $"{where}: {integration.Provider} integration '{integration.ExternalId}' is listed twice");
            }

            foreach (var organizationId in integration.Organizations ?? [])
            {
                if (!organizationIds.Contains(organizationId))
                {
                    throw new FormatException($"{where} (id {integration.Id}): organization {organizationId} is not in Organizations");
                }
            }
        }
    }
}
