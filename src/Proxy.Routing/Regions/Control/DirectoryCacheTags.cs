using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Proxy.Routing.Regions.Control;

/// <summary>
/// Cache keys and HybridCache tags of control answers. An integration answer carries the tags of its integration and of
/// every organization in it, so invalidating an organization also drops the integrations it installed.
/// </summary>
internal static class DirectoryCacheTags
{
    private const string Prefix = "directory:";

    public static string ExternalKey(string provider, string externalId)
        => $"{Prefix}integration:{Safe(provider.ToLowerInvariant())}:{Safe(externalId)}";

    public static string IntegrationKey(long id) => $"{Prefix}integration-id:{Number(id)}";

    public static string OrganizationKey(long id) => $"{Prefix}organization:{Number(id)}";

    public static string External(string provider, string externalId)
        => $"{Prefix}tag:external:{Safe(provider.ToLowerInvariant())}:{Safe(externalId)}";

    public static string Integration(long id) => $"{Prefix}tag:integration:{Number(id)}";

    public static string Organization(long id) => $"{Prefix}tag:organization:{Number(id)}";

    private static string Number(long id) => id.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A sender's id as it may appear in a key: printable ASCII up to 128 characters as it is, anything else (control
    /// characters, non-ASCII, sizes HybridCache refuses as keys) as the hex SHA-256 of its UTF-8, so hostile ids never
    /// make the cache log an invalid key or skip its stampede protection.
    /// </summary>
    internal static string Safe(string id)
    {
        if (id.Length <= MaxRawLength && !id.StartsWith(HashedPrefix, StringComparison.Ordinal) && IsPrintableAscii(id))
        {
            return id;
        }

        return HashedPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
    }

    private const int MaxRawLength = 128;
    private const string HashedPrefix = "sha256-";

    private static bool IsPrintableAscii(string id)
    {
        foreach (var c in id)
        {
            if (c is < '\u0021' or > '\u007e')
            {
                return false;
            }
        }

        return true;
    }
}
