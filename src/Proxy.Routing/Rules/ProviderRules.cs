using System.Collections.Frozen;

namespace Proxy.Routing.Rules;

/// <summary>What the provider rules say about one endpoint or event.</summary>
public enum RuleAction
{
    /// <summary>The provider's own delivery: the parser routes it (the mailbox for GitHub and GitLab, regions for Slack).</summary>
    Deliver,

    /// <summary>Forwarded to the control silo.</summary>
    Control,

    /// <summary>Acknowledged at the edge with the provider's drop status (202 or 200) and neither stored nor sent.</summary>
    Drop,
}

/// <summary>
/// One provider's rules: which endpoints (the first path segment after <c>/extensions/{provider}/</c>) and which events
/// go to control, are dropped, or are delivered. Unlisted endpoints and events take <see cref="OtherEndpoints"/> and
/// <see cref="OtherEvents"/>.
/// </summary>
public sealed class ProviderRuleSet
{
    public ProviderRuleSet(string provider, int dropStatus, IReadOnlyDictionary<string, RuleAction> endpoints, RuleAction otherEndpoints,
        IReadOnlyDictionary<string, RuleAction>? events, RuleAction otherEvents)
    {
        Provider = provider;
        DropStatus = dropStatus;
        Endpoints = endpoints.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        OtherEndpoints = otherEndpoints;
        Events = events?.ToFrozenDictionary(StringComparer.Ordinal);
        OtherEvents = otherEvents;
    }

    public string Provider { get; }

    /// <summary>The status a dropped webhook is answered with: 202 (GitHub, GitLab) or 200 (Slack, Discord).</summary>
    public int DropStatus { get; }

    public FrozenDictionary<string, RuleAction> Endpoints { get; }

    public RuleAction OtherEndpoints { get; }

    /// <summary>Null for a provider whose parser reads no event (its rules are endpoints only).</summary>
    public FrozenDictionary<string, RuleAction>? Events { get; }

    public RuleAction OtherEvents { get; }

    public RuleAction ForEndpoint(ReadOnlySpan<char> endpoint)
    {
        var lookup = Endpoints.GetAlternateLookup<ReadOnlySpan<char>>();
        return lookup.TryGetValue(endpoint, out var action) ? action : OtherEndpoints;
    }

    public RuleAction ForEvent(string? eventName)
        => eventName is not null && Events is not null && Events.TryGetValue(eventName, out var action) ? action : OtherEvents;

    /// <summary>
    /// The event as it may appear in a mailbox name: an event the rules list as delivered, else
    /// <see cref="ProviderRules.FallbackMailboxEvent"/>. Bodies are not verified at the edge, so a sender must not be
    /// able to mint mailbox names; only this file's entries can.
    /// </summary>
    public string MailboxEventName(string? eventName)
        => eventName is not null && Events is not null && Events.TryGetValue(eventName, out var action) && action == RuleAction.Deliver
            ? eventName
            : ProviderRules.FallbackMailboxEvent;
}

/// <summary>
/// The provider rules in force: the reference's values (<see cref="Defaults"/>), with the entries of
/// <c>config/provider-rules.json</c> laid over them. Immutable; a reload swaps the whole table.
/// </summary>
public sealed class ProviderRules
{
    /// <summary>What stands in a mailbox name for an event the rules do not list as delivered.</summary>
    public const string FallbackMailboxEvent = "unknown";

    /// <summary>The events the regions process for GitHub and GitHub Enterprise (every webhook type but installation).</summary>
    public static readonly IReadOnlyList<string> GitHubRegionEvents =
    [
        "check_run", "installation_repositories", "issues", "issue_comment", "pull_request", "pull_request_review",
        "pull_request_review_comment", "push",
    ];

    /// <summary>GitLab's webhook <c>object_kind</c> values; all are delivered, and these may name a mailbox.</summary>
    public static readonly IReadOnlyList<string> GitLabKinds =
        ["push", "tag_push", "merge_request", "issue", "note", "pipeline", "build", "deployment", "release", "wiki_page"];

    private static readonly string[] GitHubProviders = ["github", "github_enterprise"];
    private static readonly string[] SlackProviders = ["slack", "slack_staging"];
    private static readonly string[] SlackEndpoints = ["commands", "event", "action", "options-load", "link-team", "unlink-team"];

    private readonly FrozenDictionary<string, ProviderRuleSet> _byProvider;

    public ProviderRules(IEnumerable<ProviderRuleSet> sets)
    {
        _byProvider = sets.ToFrozenDictionary(s => s.Provider, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The reference's rules (sentry-integration-proxy.md §3 and its 2026 update).</summary>
    public static ProviderRules Defaults { get; } = new(DefaultSets());

    public IReadOnlyCollection<string> Providers => _byProvider.Keys;

    /// <summary>The provider's rules; null for a provider the table does not cover (its parser alone decides).</summary>
    public ProviderRuleSet? For(string provider) => _byProvider.GetValueOrDefault(provider);

    /// <summary>The rules of a provider with defaults (what its parser reads): configured, else the reference's.</summary>
    internal ProviderRuleSet Of(string provider)
        => For(provider) ?? Defaults.For(provider) ?? throw new ArgumentException($"no default rules for {provider}", nameof(provider));

    internal static IEnumerable<ProviderRuleSet> DefaultSets()
    {
        var gitHubEvents = GitHubRegionEvents.ToDictionary(e => e, _ => RuleAction.Deliver);
        gitHubEvents["installation"] = RuleAction.Control;
        var webhookOnly = new Dictionary<string, RuleAction> { ["webhook"] = RuleAction.Deliver };
        foreach (var provider in GitHubProviders)
        {
            yield return new ProviderRuleSet(provider, 202, webhookOnly, RuleAction.Control, gitHubEvents, RuleAction.Drop);
        }

        yield return new ProviderRuleSet("gitlab", 202, webhookOnly, RuleAction.Control,
            GitLabKinds.ToDictionary(k => k, _ => RuleAction.Deliver), RuleAction.Deliver);

        var slackEndpoints = SlackEndpoints.ToDictionary(e => e, _ => RuleAction.Deliver);
        var slackEvents = new Dictionary<string, RuleAction> { ["url_verification"] = RuleAction.Control };
        foreach (var provider in SlackProviders)
        {
            yield return new ProviderRuleSet(provider, 200, slackEndpoints, RuleAction.Control, slackEvents, RuleAction.Deliver);
        }

        yield return new ProviderRuleSet("discord", 200, new Dictionary<string, RuleAction> { ["interactions"] = RuleAction.Deliver },
            RuleAction.Control, null, RuleAction.Deliver);
    }
}
