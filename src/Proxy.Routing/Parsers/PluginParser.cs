using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Legacy Bitbucket and GitHub plugins (<c>/plugins/{plugin}/organizations/{org}/webhook/</c>): the path names the
/// organization; the webhook goes through the mailbox <c>plugins:{org}</c> to its region. An organization that no
/// longer exists is answered 400, as the reference does since plugins outlived many of their organizations.
/// </summary>
public sealed class PluginParser : IIntegrationParser
{
    private static readonly HashSet<string> WebhookPlugins = new(StringComparer.OrdinalIgnoreCase) { "bitbucket", "github" };

    public string Provider => "plugins";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);

        // /plugins/{plugin}/...: the plugin is the segment the extension paths use for their provider.
        var parts = (request.Path.Value ?? string.Empty).Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !WebhookPlugins.Contains(parts[1])
            || !OrganizationWebhookPath.Matches(parts.AsSpan(2), 0, out var segment))
        {
            return new RoutingIntent.Control("plugin pages other than the organization webhooks are served by control");
        }

        var plugin = parts[1].ToLowerInvariant();
        if (OrganizationWebhookPath.ParseId(segment) is not { } organization)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier,
                $"the {plugin} plugin webhook path does not name a numeric organization id");
        }

        return new RoutingIntent.ToRegions(new RoutingTarget.Organization(organization), RegionDelivery.Mailbox,
            $"{plugin} plugin webhook for organization {organization}")
        {
            UnknownTargetStatus = 400,
            NoRegionStatus = 400,
        };
    }
}
