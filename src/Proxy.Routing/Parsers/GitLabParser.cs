using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Rules;

namespace Proxy.Routing.Parsers;

/// <summary>
/// GitLab group webhooks: GitLab payloads name no installation, so the integration embeds its external id in the
/// secret token (<c>X-Gitlab-Token: {instance}:{group path}:{secret}</c>). Webhooks go through the mailbox, bucketed
/// by project so that a busy GitLab instance keeps each project's events in order.
/// </summary>
public sealed class GitLabParser(Func<ProviderRules>? rules = null) : IIntegrationParser
{
    private readonly Func<ProviderRules> _rules = rules ?? (() => ProviderRules.Defaults);

    public string Provider => "gitlab";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (!EndpointPath.Is(segments, "webhook"))
        {
            return new RoutingIntent.Control("gitlab pages other than the webhook are served by control");
        }

        var token = request.Header("X-Gitlab-Token");
        if (string.IsNullOrEmpty(token))
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier,
                "the X-Gitlab-Token header is missing: set the webhook's Secret Token to the one Sentry gave");
        }

        var parts = token.Split(':');
        if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier,
                "the X-Gitlab-Token header is malformed: expected {instance}:{group path}:{secret}");
        }

        if (!request.IsJson)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.UnsupportedMediaType, "GitLab webhooks must be sent as application/json");
        }

        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the GitLab webhook body is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the GitLab webhook body is not a JSON object");
            }

            var ruleSet = _rules().Of(Provider);
            var objectKind = PayloadReader.StringAt(root, "object_kind");
            switch (ruleSet.ForEvent(objectKind))
            {
                case RuleAction.Control:
                    return new RoutingIntent.Control($"gitlab '{objectKind}' webhooks are served by control");
                case RuleAction.Drop:
                    return new RoutingIntent.Respond(ruleSet.DropStatus, $"gitlab '{objectKind}' webhooks are dropped by the provider rules");
            }

            // Only kinds the rules list may name a mailbox: the body is not verified here.
            var kind = ruleSet.MailboxEventName(objectKind);
            return new RoutingIntent.ToRegions(new RoutingTarget.ExternalIntegration(Provider, $"{parts[0]}:{parts[1]}"),
                RegionDelivery.Mailbox, $"gitlab {kind}")
            {
                // One mailbox per kind, as the reference names them: a flood of pipeline events does not hold up pushes.
                MailboxSuffix = kind,
                MailboxBucketId = PayloadReader.Int64At(root, "project", "id"),
            };
        }
    }
}
