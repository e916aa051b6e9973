using Microsoft.Extensions.Options;

namespace Proxy.Mailbox;

/// <summary>
/// Which lanes are drained due-head rather than strictly in order (<see cref="MailboxOptions.Ordering"/>). The
/// ordering of a lane follows from its mailbox name, whose first part is the provider, so the stores (which decide
/// whether a lane is due and may be claimed) and the drainer (which decides whether a failure stops the lane) read the
/// same answer without storing anything per entry.
/// </summary>
internal sealed class MailboxOrdering
{
    private static readonly Dictionary<string, MailboxLaneOrdering> s_none = new(StringComparer.OrdinalIgnoreCase);
    private readonly Func<IReadOnlyDictionary<string, MailboxLaneOrdering>> _settings;

    public MailboxOrdering(IOptionsMonitor<MailboxOptions> options)
        : this(() => options.CurrentValue.Ordering)
    {
        ArgumentNullException.ThrowIfNull(options);
    }

    private MailboxOrdering(Func<IReadOnlyDictionary<string, MailboxLaneOrdering>> settings) => _settings = settings;

    /// <summary>Every lane strictly in order (what a store built without a policy does).</summary>
    public static MailboxOrdering StrictEverywhere { get; } = new(() => s_none);

    /// <summary>A fixed policy (tests, tools).</summary>
    public static MailboxOrdering Of(IReadOnlyDictionary<string, MailboxLaneOrdering> settings) => new(() => settings);

    /// <summary>The reference's skip-on-failure providers: due-head; everything else strict.</summary>
    public static Dictionary<string, MailboxLaneOrdering> Defaults() => new(StringComparer.OrdinalIgnoreCase)
    {
        ["github"] = MailboxLaneOrdering.DueHead,
        ["github_enterprise"] = MailboxLaneOrdering.DueHead,
        ["gitlab"] = MailboxLaneOrdering.DueHead,
        ["bitbucket"] = MailboxLaneOrdering.DueHead,
        ["bitbucket_server"] = MailboxLaneOrdering.DueHead,
    };

    /// <summary>The provider part of a mailbox name (<c>github</c> of <c>github:123:4</c>).</summary>
    public static string ProviderOf(string mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        var colon = mailbox.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? mailbox : mailbox[..colon];
    }

    public MailboxLaneOrdering OrderingOf(string mailbox)
    {
        var settings = _settings();
        if (settings.Count == 0)
        {
            return MailboxLaneOrdering.Strict;
        }

        var provider = ProviderOf(mailbox);
        if (settings.TryGetValue(provider, out var ordering))
        {
            return ordering;
        }

        // A dictionary bound from configuration may have lost the case-insensitive comparer.
        foreach (var (name, value) in settings)
        {
            if (string.Equals(name, provider, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return MailboxLaneOrdering.Strict;
    }

    public bool IsDueHead(string mailbox) => OrderingOf(mailbox) == MailboxLaneOrdering.DueHead;
}
