using Microsoft.Extensions.Options;

namespace Proxy.Routing;

/// <summary>Settings of the routing pipeline, section <c>Routing</c>.</summary>
public sealed class RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>Largest webhook body accepted; past it the sender gets 413.</summary>
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>How long a sender may take to send the body.</summary>
    public TimeSpan BodyReadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one region call may take (fan-out legs keep running after the sender was answered).</summary>
    public TimeSpan RegionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline for a synchronous answer (first region, all regions). Slack gives up after 3 s.</summary>
    public TimeSpan SyncDeadline { get; set; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>
    /// Region calls of all-regions fan-outs in flight at once, over every webhook (legs keep running after the sender
    /// is answered). A webhook waits for its slots within <see cref="SyncDeadline"/>, else is answered 503.
    /// </summary>
    public int MaxConcurrentFanOutLegs { get; set; } = 1024;

    /// <summary>The YARP cluster id of the control silo.</summary>
    public string ControlCluster { get; set; } = "control";

    /// <summary>Pause between attempts to post a deferred answer to a <c>response_url</c> (3 attempts in all).</summary>
    public TimeSpan DeferredRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Response header naming who answered (a region name or "control"); empty to leave it out.</summary>
    public string AnsweredByHeader { get; set; } = "X-Proxy-Region";

    /// <summary>
    /// Prefixes of the deployment's own internal request headers (e.g. <c>X-Sentry-</c>), removed from every incoming
    /// request like the built-in spoofable families.
    /// </summary>
    public List<string> StripHeaderPrefixes { get; set; } = [];
}

internal sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var errors = new List<string>();
        if (options.MaxBodyBytes is < 1 or > 256L * 1024 * 1024)
        {
            errors.Add($"{RoutingOptions.Section}:MaxBodyBytes must be between 1 and 268435456 (was {options.MaxBodyBytes}).");
        }

        if (options.MaxConcurrentFanOutLegs < 1)
        {
            errors.Add($"{RoutingOptions.Section}:MaxConcurrentFanOutLegs must be at least 1 (was {options.MaxConcurrentFanOutLegs}).");
        }

        Positive(errors, nameof(options.BodyReadTimeout), options.BodyReadTimeout);
        Positive(errors, nameof(options.RegionTimeout), options.RegionTimeout);
        Positive(errors, nameof(options.SyncDeadline), options.SyncDeadline);
        Positive(errors, nameof(options.DeferredRetryDelay), options.DeferredRetryDelay);
        if (string.IsNullOrWhiteSpace(options.ControlCluster))
        {
            errors.Add($"{RoutingOptions.Section}:ControlCluster must name the control cluster.");
        }

        for (var i = 0; i < options.StripHeaderPrefixes.Count; i++)
        {
            var prefix = options.StripHeaderPrefixes[i];
            if (string.IsNullOrWhiteSpace(prefix) || prefix.Any(c => c <= ' ' || c >= 0x7f || c == ':'))
            {
                errors.Add($"{RoutingOptions.Section}:StripHeaderPrefixes:{i} must be the start of a header name such as X-Internal- (was '{prefix}').");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{RoutingOptions.Section}:{key} must be a positive duration such as 00:00:05 (was {value}).");
        }
    }
}
