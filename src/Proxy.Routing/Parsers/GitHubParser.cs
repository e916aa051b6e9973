using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// GitHub App webhooks: JSON only; <c>installation.id</c> is the integration. Installation events belong to control;
/// events no region processes are acknowledged and dropped; the rest go to every region through the mailbox, one
/// mailbox per integration, repository bucket and event so that each stream stays ordered.
/// </summary>
public sealed class GitHubParser : IIntegrationParser
{
    /// <summary>Events the regions process (every GitHub webhook type except <c>installation</c>).</summary>
    public static readonly IReadOnlySet<string> ProcessedEvents = new HashSet<string>(StringComparer.Ordinal)
    {
        "check_run", "installation_repositories", "issues", "issue_comment", "pull_request", "pull_request_review",
        "pull_request_review_comment", "push",
    };

    public string Provider => "github";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (segments.Length == 0 || !string.Equals(segments[0], "webhook", StringComparison.OrdinalIgnoreCase))
        {
            return new RoutingIntent.Control("github pages other than the webhook are served by control");
        }

        return ParseWebhook(request, Provider, "GitHub", installation => installation, string.Empty);
    }

    /// <summary>
    /// The GitHub webhook rules, shared with GitHub Enterprise: <paramref name="externalId"/> turns the installation id
    /// into the integration's external id, or returns null when the request lacks what it needs
    /// (<paramref name="noExternalIdDetail"/> then says what).
    /// </summary>
    internal static RoutingIntent ParseWebhook(WebhookRequest request, string provider, string label,
        Func<string, string?> externalId, string noExternalIdDetail)
    {
        if (!request.IsJson)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.UnsupportedMediaType,
                $"{label} webhooks must be sent as application/json (set the webhook's content type to JSON)");
        }

        var gitHubEvent = request.Header("X-GitHub-Event");
        if (string.Equals(gitHubEvent, "installation", StringComparison.Ordinal))
        {
            return new RoutingIntent.Control($"{provider} installation events are served by control");
        }

        if (string.IsNullOrEmpty(gitHubEvent))
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier, "the X-GitHub-Event header is missing");
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

            if (!ProcessedEvents.Contains(gitHubEvent))
            {
                return new RoutingIntent.Respond(202, $"{provider} event '{gitHubEvent}' is not processed by any region");
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
            return new RoutingIntent.ToRegions(new RoutingTarget.ExternalIntegration(provider, external), RegionDelivery.Mailbox,
                $"{provider} {gitHubEvent}")
            {
                MailboxSuffix = repository is { } r ? $"{Math.Abs(r % 100)}:{gitHubEvent}" : null,
            };
        }
    }
}
