using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// GitLab group webhooks: GitLab payloads name no installation, so the integration embeds its external id in the
/// secret token (<c>X-Gitlab-Token: {instance}:{group path}:{secret}</c>). Webhooks go through the mailbox, bucketed
/// by project so that a busy GitLab instance keeps each project's events in order.
/// </summary>
public sealed class GitLabParser : IIntegrationParser
{
    /// <summary>
    /// The <c>object_kind</c> values that may appear in a mailbox name (GitLab's webhook kinds); any other kind, or
    /// none, is named <see cref="FallbackMailboxEvent"/>: the body is not verified here, so a sender must not mint
    /// mailbox names.
    /// </summary>
    public static readonly IReadOnlySet<string> MailboxEvents = new HashSet<string>(StringComparer.Ordinal)
    {
        "push", "tag_push", "merge_request", "issue", "note", "pipeline", "build", "deployment", "release", "wiki_page",
    };

    /// <summary>What stands in a mailbox name for a kind that is not one of <see cref="MailboxEvents"/>.</summary>
    public const string FallbackMailboxEvent = "unknown";

    public string Provider => "gitlab";

    internal static string MailboxEventName(string? kind)
        => kind is not null && MailboxEvents.Contains(kind) ? kind : FallbackMailboxEvent;

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

            var kind = MailboxEventName(PayloadReader.StringAt(root, "object_kind"));
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
