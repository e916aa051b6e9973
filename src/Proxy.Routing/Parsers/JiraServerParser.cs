using System.Text.Json;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Jira Server issue-updated webhooks (<c>issue-updated/{token}/</c>). Jira lets the webhook carry nothing of ours but
/// its URL, so the token is a JWT whose <c>id</c> claim is the integration's external id. The edge only reads the
/// claim; the region verifies the token with the integration's secret. Only updates with a changelog are processed.
/// </summary>
public sealed class JiraServerParser : IIntegrationParser
{
    public string Provider => "jira_server";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (segments.Length == 0 || segments.Length > 2
            || !string.Equals(segments[0], "issue-updated", StringComparison.OrdinalIgnoreCase))
        {
            return new RoutingIntent.Control("jira_server pages other than the issue-updated webhook are served by control");
        }

        // 200, not an error: Jira Server would retry a webhook whose token will never become readable.
        if (segments.Length < 2 || UnverifiedJwt.StringClaim(segments[1], "id") is not { } externalId)
        {
            return new RoutingIntent.Respond(200, "the jira_server webhook token does not name an integration");
        }

        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return new RoutingIntent.Respond(200, "the jira_server webhook body is not JSON, so it has no changelog");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("changelog", out var changelog) || !IsTruthy(changelog))
            {
                return new RoutingIntent.Respond(200, "jira_server webhooks without a changelog are not processed");
            }

            return new RoutingIntent.ToRegions(new RoutingTarget.ExternalIntegration(Provider, externalId), RegionDelivery.Mailbox,
                "jira_server issue updated")
            {
                // An integration the token does not match is answered like an unreadable token.
                UnknownTargetStatus = 200,
                MailboxBucketId = PayloadReader.NumericIdAt(root, "issue", "id"),
            };
        }
    }

    /// <summary>What the reference treats as "has a changelog": present and not null, false, 0 or empty.</summary>
    private static bool IsTruthy(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => value.EnumerateObject().Any(),
        JsonValueKind.Array => value.GetArrayLength() > 0,
        JsonValueKind.String => value.GetString()!.Length > 0,
        JsonValueKind.Number => value.GetRawText() is not ("0" or "0.0"),
        JsonValueKind.True => true,
        _ => false,
    };
}
