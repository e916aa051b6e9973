using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Rules;

namespace Proxy.Routing.Parsers;

/// <summary>
/// GitHub App webhooks: JSON only; <c>installation.id</c> is the integration. Installation events belong to control;
/// events no region processes are acknowledged and dropped; the rest go to every region through the mailbox, one
/// mailbox per integration, repository bucket and event so that each stream stays ordered.
/// </summary>
public sealed class GitHubParser(Func<ProviderRules>? rules = null) : IIntegrationParser
{
    private readonly Func<ProviderRules> _rules = rules ?? (() => ProviderRules.Defaults);

    public string Provider => "github";

    /// <summary>An <c>installation</c> object with <c>action</c> <c>created</c> or <c>deleted</c>.</summary>
    private static bool IsInstallationChange(JsonElement root)
        => root.TryGetProperty("installation", out var installation) && installation.ValueKind == JsonValueKind.Object
            && PayloadReader.StringAt(root, "action") is "created" or "deleted";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (segments.Length == 0 || !string.Equals(segments[0], "webhook", StringComparison.OrdinalIgnoreCase))
        {
            return new RoutingIntent.Control("github pages other than the webhook are served by control");
        }

        return ParseWebhook(request, Provider, _rules().Of(Provider), "GitHub", installation => installation, string.Empty);
    }

    /// <summary>
    /// The GitHub webhook rules, shared with GitHub Enterprise: <paramref name="externalId"/> turns the installation id
    /// into the integration's external id, or returns null when the request lacks what it needs
    /// (<paramref name="noExternalIdDetail"/> then says what).
    /// </summary>
    internal static RoutingIntent ParseWebhook(WebhookRequest request, string provider, ProviderRuleSet rules, string label,
        Func<string, string?> externalId, string noExternalIdDetail)
    {
        if (!request.IsJson)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.UnsupportedMediaType,
                $"{label} webhooks must be sent as application/json (set the webhook's content type to JSON)");
        }

        var gitHubEvent = request.Header("X-GitHub-Event");
        var action = string.IsNullOrEmpty(gitHubEvent) ? RuleAction.Deliver : rules.ForEvent(gitHubEvent);
        if (action == RuleAction.Control)
        {
            return new RoutingIntent.Control($"{provider} '{gitHubEvent}' events are served by control");
        }

        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, $"the {label} webhook body is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, $"the {label} webhook body is not a JSON object");
            }

            if (string.IsNullOrEmpty(gitHubEvent))
            {
                // The reference routes a webhook without the header by its body: an installation being created or
                // deleted belongs to control, anything else to the regions (which answer it as they see fit).
                if (IsInstallationChange(root))
                {
                    return new RoutingIntent.Control($"{provider} webhook without X-GitHub-Event is an installation change");
                }
            }
            else if (action == RuleAction.Drop)
            {
                return new RoutingIntent.Respond(rules.DropStatus, $"{provider} event '{gitHubEvent}' is not processed by any region");
            }

            var installation = PayloadReader.StringAt(root, "installation", "id");
            if (installation is null)
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier, $"the {label} webhook has no installation.id");
            }

            if (externalId(installation) is not { } external)
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier, noExternalIdDetail);
            }

            var repository = PayloadReader.Int64At(root, "repository", "id");
            var mailboxEvent = rules.MailboxEventName(gitHubEvent);
            return new RoutingIntent.ToRegions(new RoutingTarget.ExternalIntegration(provider, external), RegionDelivery.Mailbox,
                $"{provider} {(string.IsNullOrEmpty(gitHubEvent) ? "webhook without X-GitHub-Event" : gitHubEvent)}")
            {
                MailboxSuffix = repository is { } r ? $"{Math.Abs(r % 100)}:{mailboxEvent}" : null,
            };
        }
    }
}
