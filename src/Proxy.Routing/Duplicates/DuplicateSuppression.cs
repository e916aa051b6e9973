using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Parsers;
using Proxy.Routing.Requests;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing.Duplicates;

/// <summary>
/// Absorbs redelivered webhooks: the sender's delivery id (a header, or what the parser read from the body into
/// <see cref="RoutingIntent.ToRegions.DeliveryId"/>) is claimed for <c>Dedup:Window</c> before the webhook is stored or
/// forwarded. A second webhook with the same provider and id is answered without either; a claim whose delivery failed
/// is released, so the sender's retry goes through. Ids that are empty or longer than <see cref="MaxIdLength"/> are
/// not checked, and a store that does not answer never costs a webhook: it is delivered unchecked.
/// </summary>
internal sealed partial class DuplicateSuppression(
    IDeliveryIdStore store,
    IOptionsMonitor<DuplicateOptions> options,
    RoutingMetrics metrics,
    ILogger<DuplicateSuppression> logger)
{
    /// <summary>The key under which the mailbox registers its embedded (SQLite) store.</summary>
    public const string EmbeddedStoreKey = "embedded";

    /// <summary>Longest delivery id checked; real ids are GUIDs, snowflakes and short event ids.</summary>
    public const int MaxIdLength = 200;

    /// <summary>Providers whose delivery id is a header.</summary>
    private static readonly FrozenDictionary<string, string> s_idHeaders = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["github"] = "X-GitHub-Delivery",
        ["github_enterprise"] = "X-GitHub-Delivery",
        ["gitlab"] = "X-Gitlab-Event-UUID",
        ["jira"] = "X-Atlassian-Webhook-Identifier",
        ["jira_server"] = "X-Atlassian-Webhook-Identifier",
        ["gitea"] = "X-Gitea-Delivery",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public string StoreKind => store.Kind;

    /// <summary>The sender's id for this delivery, or null when it carries none.</summary>
    public static string? DeliveryIdOf(string provider, RoutingIntent.ToRegions intent, WebhookRequest webhook)
    {
        ArgumentNullException.ThrowIfNull(intent);
        ArgumentNullException.ThrowIfNull(webhook);
        return intent.DeliveryId ?? (s_idHeaders.TryGetValue(provider, out var header) ? webhook.Header(header) : null);
    }

    /// <summary>Claims the webhook's delivery id; <see cref="DuplicateCheck.IsDuplicate"/> says it was delivered already.</summary>
    public async ValueTask<DuplicateCheck> ClaimAsync(WebhookExchange exchange, RoutingIntent.ToRegions intent)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        var settings = options.CurrentValue;
        var id = DeliveryIdOf(exchange.Provider, intent, exchange.Webhook);
        if (!settings.Enabled || string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            return default;
        }

        var key = $"{exchange.Provider}:{id}";
        DeliveryClaim claim;
        try
        {
            claim = await store.TryClaimAsync(key, settings.Window, exchange.Context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !exchange.Context.RequestAborted.IsCancellationRequested)
        {
            LogStoreFailed(logger, store.Kind, exchange.Provider, ex);
            claim = DeliveryClaim.Unavailable;
        }

        switch (claim.Outcome)
        {
            case ClaimOutcome.Duplicate:
                metrics.Duplicate(exchange.Provider);
                exchange.Activity?.SetTag(TelemetryAttributes.Duplicate, true);
                LogDuplicate(logger, exchange.Provider, id);
                return new DuplicateCheck(key, null, IsDuplicate: true);
            case ClaimOutcome.Unavailable:
                metrics.DuplicateCheckSkipped(exchange.Provider, store.Kind);
                LogUnchecked(logger, exchange.Provider, store.Kind);
                return default;
            default:
                return new DuplicateCheck(key, claim.Token, IsDuplicate: false);
        }
    }

    /// <summary>Forgets a claim whose webhook was not accepted; never throws.</summary>
    public async ValueTask ReleaseAsync(DuplicateCheck check, string provider)
    {
        if (check.Key is null || check.Token is null)
        {
            return;
        }

        try
        {
            await store.ReleaseAsync(check.Key, check.Token, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The id stays claimed until the window passes: a retry within it is answered as a duplicate.
            LogStoreFailed(logger, store.Kind, provider, ex);
        }
    }

    [LoggerMessage(EventId = 410, Level = LogLevel.Debug, Message = "A {Provider} webhook with delivery id {DeliveryId} was seen before; answered and dropped")]
    private static partial void LogDuplicate(ILogger logger, string provider, string deliveryId);

    [LoggerMessage(EventId = 411, Level = LogLevel.Debug,
        Message = "The {Store} store of delivery ids did not answer; a {Provider} webhook is delivered without the duplicate check")]
    private static partial void LogUnchecked(ILogger logger, string provider, string store);

    [LoggerMessage(EventId = 412, Level = LogLevel.Warning, Message = "The {Store} store of delivery ids failed for a {Provider} webhook")]
    private static partial void LogStoreFailed(ILogger logger, string store, string provider, Exception exception);
}

/// <summary>The result of a claim: <see cref="Token"/> is set when this webhook holds the claim and must release it if not accepted.</summary>
internal readonly record struct DuplicateCheck(string? Key, string? Token, bool IsDuplicate);
