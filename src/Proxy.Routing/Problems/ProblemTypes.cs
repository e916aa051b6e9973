namespace Proxy.Routing.Problems;

/// <summary>Stable RFC 9457 problem type URIs; a client can switch on them.</summary>
public static class ProblemTypes
{
    public const string Prefix = "urn:edge-proxy:problem:";

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
    public const string NotFound = Prefix + "not-found";
    public const string MethodNotAllowed = Prefix + "method-not-allowed";
    public const string UpstreamUnavailable = Prefix + "upstream-unavailable";
    public const string UpstreamTimeout = Prefix + "upstream-timeout";
    public const string RateLimited = Prefix + "rate-limited";
    public const string FanOutSaturated = Prefix + "fan-out-saturated";
    public const string Shed = Prefix + "shed";

    /// <summary>The type of an answer the framework or YARP decided by status alone (status code pages, forward errors).</summary>
    public static string ForStatus(int status) => status switch
    {
        404 => NotFound,
        405 => MethodNotAllowed,
        408 => BodyReadTimeout,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        429 => RateLimited,
        500 => InternalError,
        502 => UpstreamUnavailable,
        503 => ServiceUnavailable,
        504 => UpstreamTimeout,
        _ => Prefix + "http-" + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
