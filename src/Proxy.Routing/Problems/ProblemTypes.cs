namespace Proxy.Routing.Problems;

/// <summary>Stable RFC 9457 problem type URIs; a client can switch on them.</summary>
public static class ProblemTypes
{
    private const string Prefix = "urn:edge-proxy:problem:";

    public const string MalformedBody = Prefix + "malformed-body";
    public const string MissingIdentifier = Prefix + "missing-identifier";
    public const string UnknownIntegration = Prefix + "unknown-integration";
    public const string NoRegion = Prefix + "no-region";
    public const string PayloadTooLarge = Prefix + "payload-too-large";
    public const string BodyReadTimeout = Prefix + "body-read-timeout";
    public const string InvalidSignature = Prefix + "invalid-signature";
    public const string UnsupportedMediaType = Prefix + "unsupported-media-type";
    public const string RegionUnavailable = Prefix + "region-unavailable";
    public const string RegionTimeout = Prefix + "region-timeout";
    public const string RegionNotConfigured = Prefix + "region-not-configured";
    public const string ServiceUnavailable = Prefix + "service-unavailable";
    public const string InternalError = Prefix + "internal-error";
    public const string DirectoryUnavailable = Prefix + "directory-unavailable";
    public const string AdminDisabled = Prefix + "admin-disabled";
    public const string MissingAdminKey = Prefix + "missing-admin-key";
    public const string WrongAdminKey = Prefix + "wrong-admin-key";
}
