using Microsoft.AspNetCore.Http;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Jira Cloud (Atlassian Connect): Jira signs every request with a JWT (<c>Authorization: JWT …</c> or <c>?jwt=</c>)
/// whose <c>iss</c> is the installation's client key, our external id. Issue updates go to the integration's
/// mailbox (bucketed by issue id), the issue panel is answered by its region, or by control when the region gives no
/// answer; installation, descriptor, search and configuration belong to control. A Jira integration lives in one region
/// (multi-region installs are refused at install time): one found in several is a configuration error served by control.
/// </summary>
public sealed class JiraParser : IIntegrationParser
{
    public string Provider => "jira";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        var issueUpdated = EndpointPath.Is(segments, "issue-updated");
        var issuePanel = segments.Length == 2 && string.Equals(segments[0], "issue", StringComparison.OrdinalIgnoreCase);
        if (!issueUpdated && !issuePanel)
        {
            return new RoutingIntent.Control("jira pages other than issue updates and the issue panel are served by control");
        }

        var clientKey = Token(request) is { } token ? UnverifiedJwt.StringClaim(token, "iss") : null;
        if (clientKey is null)
        {
            // As the reference: a request whose JWT names no installation is "no such integration".
            return new RoutingIntent.Reject(404, ProblemTypes.MissingIdentifier, "the Jira request carries no readable JWT issuer");
        }

        var target = new RoutingTarget.ExternalIntegration(Provider, clientKey);
        return issueUpdated
            ? new RoutingIntent.ToRegions(target, RegionDelivery.Mailbox, "jira issue updated")
            {
                UnknownTargetStatus = 404,
                OneRegionOnly = true,
                MailboxBucketId = MailboxBuckets.Of(IssueId(request.Body)),
            }
            : new RoutingIntent.ToRegions(target, RegionDelivery.FirstRegion, "jira issue panel")
            {
                UnknownTargetStatus = 404,
                Methods = "GET, HEAD",
                OneRegionOnly = true,
                ControlOnRegionFailure = true,
            };
    }

    /// <summary><c>issue.id</c> of an issue update (Jira sends a numeric string); null when the body has none.</summary>
    private static long? IssueId(ReadOnlyMemory<byte> body)
    {
        if (!PayloadReader.TryParseJson(body, out var document))
        {
            return null;
        }

        using (document)
        {
            var root = document!.RootElement;
            return root.ValueKind == System.Text.Json.JsonValueKind.Object ? PayloadReader.NumericIdAt(root, "issue", "id") : null;
        }
    }

    private static string? Token(WebhookRequest request)
    {
        var authorization = request.Header("Authorization");
        if (authorization is not null && authorization.StartsWith("JWT ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization[4..].Trim();
        }

        return QueryValue(request.Query, "jwt");
    }

    private static string? QueryValue(QueryString query, string name)
        => query.HasValue && Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query.Value).TryGetValue(name, out var values)
            ? values.ToString()
            : null;
}
