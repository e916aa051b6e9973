using System.Diagnostics;
using System.Diagnostics.Metrics;
using Attr = Proxy.Routing.Telemetry.TelemetryAttributes;

namespace Proxy.Routing.Telemetry;

/// <summary>
/// The routing instruments, created through <see cref="IMeterFactory"/> so each host (and each test host) has its own.
/// Names follow OpenTelemetry conventions: dotted, units in UCUM, durations in seconds.
/// </summary>
public sealed class RoutingMetrics
{
    public const string MeterName = "EdgeProxy.Routing";

    private readonly Counter<long> _decisions;
    private readonly Counter<long> _regionFailures;
    private readonly Counter<long> _syncFailures;
    private readonly Histogram<double> _regionDuration;
    private readonly Counter<long> _configReloads;
    private readonly Counter<long> _deferred;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _unchecked;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _shed;
    private readonly Counter<long> _configErrors;

    public RoutingMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _decisions = meter.CreateCounter<long>("proxy.routing.decisions", "{decision}",
            "Routing decisions, by provider and mode (control, first_region, all_regions, reject, respond, no_region, mailbox, deferred, duplicate, shed).");
        _regionFailures = meter.CreateCounter<long>("proxy.region.failures", "{failure}",
            "Region calls that produced no answer (connection error, timeout...), by proxy.provider, proxy.mode, proxy.region and error.type.");
        _syncFailures = meter.CreateCounter<long>("proxy.sync.failures", "{request}",
            "Synchronous webhooks for which no region answered: the first region failed, or every region failed.");
        _regionDuration = meter.CreateHistogram<double>("proxy.region.request.duration", "s",
            "Duration of calls to region and control silos.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _configReloads = meter.CreateCounter<long>("proxy.config.reloads", "{reload}",
            "Hot reloads of the config files, by file and outcome (accepted, rejected).");
        _deferred = meter.CreateCounter<long>("proxy.deferred.responses", "{response}",
            "Deferred answers, by provider and outcome (posted, no_region_answer, empty_answer, post_failed).");
        _duplicates = meter.CreateCounter<long>("proxy.webhook.duplicates", "{webhook}",
            "Webhooks whose delivery id was seen within Dedup:Window: answered, neither stored nor forwarded; by provider.");
        _unchecked = meter.CreateCounter<long>("proxy.dedup.unchecked", "{webhook}",
            "Webhooks delivered without the duplicate check because the store of delivery ids did not answer; by provider and store.");
        _rateLimited = meter.CreateCounter<long>("proxy.rate_limited", "{request}",
            "Requests answered 429 by a rate limit (client_ip, integration) or 503 by the fan-out leg cap (fan_out_legs); by limit and provider.");
        _shed = meter.CreateCounter<long>("proxy.webhook.shed", "{webhook}",
            "Webhooks answered 429 by the shed valve (Shed:Rules), neither stored nor forwarded; by provider and rule.");
        _configErrors = meter.CreateCounter<long>("proxy.routing.config_errors", "{webhook}",
            "Webhooks whose directory entry breaks a provider rule (a Jira integration in several regions), served by control; by provider and error.type.");
    }

    public void Decision(string provider, string mode)
        => _decisions.Add(1, new TagList { { Attr.Provider, provider }, { Attr.Mode, mode } });

    public void RegionFailure(string provider, string mode, string region, string errorType)
        => _regionFailures.Add(1, new TagList
        {
            { Attr.Provider, provider }, { Attr.Mode, mode }, { Attr.Region, region }, { Attr.ErrorType, errorType },
        });

    public void SyncFailure(string provider, string mode, string region, string errorType)
        => _syncFailures.Add(1, new TagList
        {
            { Attr.Provider, provider }, { Attr.Mode, mode }, { Attr.Region, region }, { Attr.ErrorType, errorType },
        });

    /// <summary>One call to a region or control: its status when it answered, else the error that ended it.</summary>
    public void RegionCall(string region, string mode, int? statusCode, TimeSpan duration, string? errorType = null)
    {
        var tags = new TagList { { Attr.Region, region }, { Attr.Mode, mode } };
        if (statusCode is { } status)
        {
            tags.Add(Attr.HttpResponseStatusCode, status);
        }

        if (errorType is not null)
        {
            tags.Add(Attr.ErrorType, errorType);
        }

        _regionDuration.Record(duration.TotalSeconds, tags);
    }

    public void Deferred(string provider, string outcome)
        => _deferred.Add(1, new TagList { { Attr.Provider, provider }, { Attr.Outcome, outcome } });

    public void Duplicate(string provider) => _duplicates.Add(1, new TagList { { Attr.Provider, provider } });

    public void DuplicateCheckSkipped(string provider, string store)
        => _unchecked.Add(1, new TagList { { Attr.Provider, provider }, { Attr.DedupStore, store } });

    public void RateLimited(string limit, string provider)
        => _rateLimited.Add(1, new TagList { { Attr.Limit, limit }, { Attr.Provider, provider } });

    public void Shed(string provider, string rule)
        => _shed.Add(1, new TagList { { TelemetryAttributes.Provider, provider }, { TelemetryAttributes.ShedRule, rule } });

    public void ConfigError(string provider, string errorType)
        => _configErrors.Add(1, new TagList { { TelemetryAttributes.Provider, provider }, { TelemetryAttributes.ErrorType, errorType } });

    public void ConfigReload(string file, bool accepted)
        => _configReloads.Add(1, new TagList { { Attr.ConfigFile, file }, { Attr.Outcome, accepted ? "accepted" : "rejected" } });
}

/// <summary>Our spans: one per routing decision, one per region call, one per mailbox accept.</summary>
public static class RoutingActivity
{
    public const string SourceName = "EdgeProxy.Routing";

    /// <summary>The span of one webhook's routing decision, under the incoming request's span.</summary>
    public const string RouteSpanName = "webhook route";

    /// <summary>The span of one call to a region (or control), in every mode.</summary>
    public const string RegionCallSpanName = "region call";

    /// <summary>The span around storing a webhook in the mailbox; the later <c>mailbox.deliver</c> spans link to it.</summary>
    public const string MailboxAcceptSpanName = "mailbox.accept";

    /// <summary>The span of a deferred answer's work after the sender was answered (same trace).</summary>
    public const string DeferredSpanName = "deferred response";

    /// <summary>YARP's forwarder span's source.</summary>
    public const string YarpSourceName = "Yarp.ReverseProxy";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>Starts a <see cref="RegionCallSpanName"/> span; <paramref name="destination"/> fills <c>server.*</c> when known.</summary>
    public static Activity? StartRegionCall(string region, string mode, string provider, string? destination)
    {
        var activity = Source.StartActivity(RegionCallSpanName, ActivityKind.Client);
        if (activity is null)
        {
            return null;
        }

        activity.SetTag(TelemetryAttributes.Region, region);
        activity.SetTag(TelemetryAttributes.Mode, mode);
        activity.SetTag(TelemetryAttributes.Provider, provider);
        SetServer(activity, destination);
        return activity;
    }

    /// <summary><c>server.address</c> and <c>server.port</c> of a destination address (YARP's <c>Address</c>).</summary>
    public static void SetServer(Activity? activity, string? destination)
    {
        if (activity is not null && Uri.TryCreate(destination, UriKind.Absolute, out var uri))
        {
            activity.SetTag(TelemetryAttributes.ServerAddress, uri.Host);
            activity.SetTag(TelemetryAttributes.ServerPort, uri.Port);
        }
    }

    /// <summary>Ends a region call: the status of its answer, or the error that left it without one.</summary>
    public static void Answered(Activity? activity, int? statusCode, string? errorType)
    {
        if (activity is null)
        {
            return;
        }

        if (statusCode is { } status)
        {
            activity.SetTag(TelemetryAttributes.HttpResponseStatusCode, status);
        }

        if (errorType is not null)
        {
            activity.SetTag(TelemetryAttributes.ErrorType, errorType);
            activity.SetStatus(ActivityStatusCode.Error, errorType);
        }
    }

    /// <summary>
    /// YARP's forwarder span names the route's cluster (<c>control</c>) in <c>proxy.cluster_id</c> even when routing
    /// handed the request to a region's cluster: called once the forwarder is done, this names the cluster it used.
    /// </summary>
    public static void ForwardingTo(string clusterId)
    {
        for (var activity = Activity.Current; activity is not null; activity = activity.Parent)
        {
            if (activity.Source.Name == YarpSourceName)
            {
                activity.SetTag(TelemetryAttributes.YarpClusterId, clusterId);
                return;
            }
        }
    }
}

/// <summary>Mode names used in tags and logs.</summary>
public static class RoutingModes
{
    public const string Control = "control";
    public const string FirstRegion = "first_region";
    public const string AllRegions = "all_regions";
    public const string Reject = "reject";
    public const string Respond = "respond";
    public const string NoRegion = "no_region";
    public const string Mailbox = "mailbox";
    public const string Deferred = "deferred";

    /// <summary>Answered 429 by the shed valve: nothing stored, nothing sent.</summary>
    public const string Shed = "shed";

    /// <summary>A redelivery of a webhook accepted within <c>Dedup:Window</c>: answered, nothing sent.</summary>
    public const string Duplicate = "duplicate";

    /// <summary>A directory lookup (the control silo answering for the control source).</summary>
    public const string Directory = "directory";
}
