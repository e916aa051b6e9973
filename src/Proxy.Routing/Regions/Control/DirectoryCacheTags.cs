using System.Globalization;

namespace Proxy.Routing.Regions.Control;

/// <summary>
/// Cache keys and HybridCache tags of control answers. An integration answer carries the tags of its integration and of
/// every organization in it, so invalidating an organization also drops the integrations it installed.
/// </summary>
internal static class DirectoryCacheTags
{
    private const string Prefix = "directory:";

    public static string ExternalKey(string provider, string externalId)
        => $"{Prefix}integration:{provider.ToLowerInvariant()}:{externalId}";

    public static string IntegrationKey(long id) => $"{Prefix}integration-id:{Number(id)}";

    public static string OrganizationKey(long id) => $"{Prefix}organization:{Number(id)}";

    public static string External(string provider, string externalId)
        => $"{Prefix}tag:external:{provider.ToLowerInvariant()}:{externalId}";

    public static string Integration(long id) => $"{Prefix}tag:integration:{Number(id)}";

    public static string Organization(long id) => $"{Prefix}tag:organization:{Number(id)}";

    private static string Number(long id) => id.ToString(CultureInfo.InvariantCulture);
}
