using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Gitea webhooks: <c>organizations/{organization id}/webhook/{integration id}/</c>. The URL names the organization,
/// whose region gets the webhook through the mailbox, and the directory integration, whose mailbox it is (bucketed by
/// <c>repository.id</c>). What cannot be placed (no numeric organization, an organization the directory does not know
/// or that is inactive, a region without a cluster, an integration the directory does not know) is served by control,
/// as for Bitbucket. Bodies are JSON only.
/// </summary>
public sealed class GiteaParser : IIntegrationParser
{
    public string Provider => "gitea";

    /// <summary>True for the webhook path, whatever its ids (the signature covers it, and only it).</summary>
    internal static bool IsWebhook(WebhookRequest request)
        => OrganizationWebhookPath.Matches(WebhookPath.SegmentsAfterProvider(request.Path), 1, out _);

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (!OrganizationWebhookPath.Matches(segments, 1, out var segment))
        {
            return new RoutingIntent.Control("gitea pages other than the organization webhook are served by control");
        }

        if (OrganizationWebhookPath.ParseId(segment) is not { } organization)
        {
            return new RoutingIntent.Control("gitea webhook path has no numeric organization id");
        }

        if (OrganizationWebhookPath.ParseId(segments[^1]) is not { } integration)
        {
            return new RoutingIntent.Control("gitea webhook path has no numeric integration id");
        }

        if (request.Body.IsEmpty)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the Gitea webhook has no body");
        }

        if (!request.IsJson)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.UnsupportedMediaType, "Gitea webhooks must be sent as application/json");
        }

        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the Gitea webhook body is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the Gitea webhook body is not a JSON object");
            }

            return new RoutingIntent.ToRegions(new RoutingTarget.Organization(organization), RegionDelivery.Mailbox,
                $"gitea webhook for organization {organization}")
            {
                MailboxIntegrationId = integration,
                MailboxBucketId = PayloadReader.Int64At(root, "repository", "id"),
                ControlWhenUnplaced = true,
            };
        }
    }
}
