using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Limits;

/// <summary>
/// The shed valve, section <c>Shed</c>: an inbound killswitch for floods. Webhooks matching a rule are answered 429 with
/// <c>Retry-After: 60</c>, and nothing is stored or forwarded.
/// </summary>
public sealed class ShedOptions
{
    public const string Section = "Shed";

    public List<ShedRule> Rules { get; set; } = [];
}

/// <summary>
/// One rule: every webhook of <see cref="Provider"/>, or only those of one integration, named by the provider's id for
/// it (<see cref="ExternalId"/>: Slack team, GitHub installation...) or by the directory's (<see cref="IntegrationId"/>).
/// </summary>
public sealed class ShedRule
{
    public string? Provider { get; set; }

    public string? ExternalId { get; set; }

    public long? IntegrationId { get; set; }

    /// <summary>The rule in metrics and logs: <c>github</c>, <c>github/external:123</c>, <c>github/integration:20</c>.</summary>
    public override string ToString()
        => ExternalId is not null ? $"{ProviderKey}/external:{ExternalId}"
            : IntegrationId is { } id ? string.Create(CultureInfo.InvariantCulture, $"{ProviderKey}/integration:{id}")
            : ProviderKey;

    /// <summary>The provider as the path names it (<c>github-enterprise</c> is <c>github_enterprise</c>).</summary>
    internal string ProviderKey => (Provider ?? string.Empty).Trim().Replace('-', '_').ToLowerInvariant();
}

internal sealed class ShedOptionsValidator : IValidateOptions<ShedOptions>
{
    public ValidateOptionsResult Validate(string? name, ShedOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Rules.Count; i++)
        {
            var rule = options.Rules[i];
            var key = string.Create(CultureInfo.InvariantCulture, $"{ShedOptions.Section}:Rules:{i}");
            if (rule is null || string.IsNullOrWhiteSpace(rule.Provider))
            {
                errors.Add($"{key}:Provider is required: a shed rule names the provider whose webhooks it sheds.");
                continue;
            }

            if (rule.ExternalId is not null && rule.IntegrationId is not null)
            {
                errors.Add($"{key} sets both ExternalId and IntegrationId; set one of them (or neither, for every {rule.ProviderKey} webhook).");
            }

            if (rule.ExternalId is { } external && string.IsNullOrWhiteSpace(external))
            {
                errors.Add($"{key}:ExternalId must not be blank; leave it out to shed every {rule.ProviderKey} webhook.");
            }

            if (rule.IntegrationId is <= 0)
            {
                errors.Add($"{key}:IntegrationId must be a positive directory id (was {rule.IntegrationId}).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// The live shed rules. They are read from the whole configuration (appsettings, the routes file, environment), so a
/// rule may be added in any watched file; each change is validated, and an edit with a bad rule is logged and the last
/// good rules stay live. A bad rule at start fails the start (<see cref="StartAsync"/>).
/// </summary>
public sealed partial class ShedValve : IHostedService, IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly ShedOptionsValidator _validator = new();
    private readonly ILogger<ShedValve> _logger;
    private readonly IDisposable _subscription;
    private readonly ValidateOptionsResult _initial;
    private volatile ShedRule[] _rules = [];

    public ShedValve(IConfiguration configuration, ILogger<ShedValve> logger)
    {
        _configuration = configuration;
        _logger = logger;
        _initial = Load();

        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    /// <summary>True while at least one rule is live (a cheap check before matching).</summary>
    public bool Any => _rules.Length > 0;

    /// <summary>
    /// The first rule that sheds a webhook for <paramref name="target"/> of <paramref name="provider"/>, or null. A rule
    /// by directory id matches a target that carries one (signed links, the id in a Gitea URL, <paramref name="integrationId"/>
    /// once the directory named it).
    /// </summary>
    public ShedRule? Match(string provider, RoutingTarget target, long? integrationId = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        foreach (var rule in _rules)
        {
            if (!string.Equals(rule.ProviderKey, provider, StringComparison.Ordinal))
            {
                continue;
            }

            var matches = rule switch
            {
                { ExternalId: { } external } => target is RoutingTarget.ExternalIntegration e && string.Equals(e.ExternalId, external, StringComparison.Ordinal),
                { IntegrationId: { } id } => integrationId == id || (target is RoutingTarget.IntegrationId byId && byId.Id == id),
                _ => true,
            };
            if (matches)
            {
                return rule;
            }
        }

        return null;
    }

    private ValidateOptionsResult Load()
    {
        var (options, errors) = Read(_configuration.GetSection(ShedOptions.Section));
        var result = errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : _validator.Validate(null, options);
        if (result.Succeeded)
        {
            _rules = [.. options.Rules];
        }

        return result;
    }

    /// <summary>
    /// The rules as written, read by hand: the binder silently drops a list entry with a value it cannot convert, which
    /// would turn a typo into "shed nothing".
    /// </summary>
    internal static (ShedOptions Options, List<string> Errors) Read(IConfiguration section)
    {
        var options = new ShedOptions();
        var errors = new List<string>();
        foreach (var entry in section.GetSection(nameof(ShedOptions.Rules)).GetChildren())
        {
            long? integrationId = null;
            if (entry[nameof(ShedRule.IntegrationId)] is { Length: > 0 } raw)
            {
                if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
                {
                    integrationId = id;
                }
                else
                {
                    errors.Add($"{ShedOptions.Section}:Rules:{entry.Key}:IntegrationId must be a number (was '{raw}').");
                }
            }

            options.Rules.Add(new ShedRule
            {
                Provider = entry[nameof(ShedRule.Provider)],
                ExternalId = entry[nameof(ShedRule.ExternalId)],
                IntegrationId = integrationId,
            });
        }

        return (options, errors);
    }

    private void Reload()
    {
        var before = _rules;
        var result = Load();
        if (result.Failed)
        {
            LogRejected(_logger, result.FailureMessage);
        }
        else if (!SameRules(before, _rules))
        {
            LogReloaded(_logger, _rules.Length);
        }
    }

    private static bool SameRules(ShedRule[] a, ShedRule[] b)
        => a.Select(r => r.ToString()).SequenceEqual(b.Select(r => r.ToString()), StringComparer.Ordinal);

    /// <summary>Fails the start with the rule's key when the configuration holds a bad rule.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
        => _initial.Failed
            ? throw new OptionsValidationException(ShedOptions.Section, typeof(ShedOptions), _initial.Failures)
            : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _subscription.Dispose();

    [LoggerMessage(EventId = 430, Level = LogLevel.Error, Message = "Rejected the shed rules edit; the last good rules stay live. {Error}")]
    private static partial void LogRejected(ILogger logger, string error);

    [LoggerMessage(EventId = 431, Level = LogLevel.Warning, Message = "Shed rules changed: {Count} live")]
    private static partial void LogReloaded(ILogger logger, int count);
}
