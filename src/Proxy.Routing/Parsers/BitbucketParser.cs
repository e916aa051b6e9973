using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Bitbucket Cloud (<c>bitbucket</c>) and Bitbucket Server (<c>bitbucket_server</c>): the webhook URL names the
/// organization, so no integration is looked up; the webhook goes through the mailbox to that organization's region.
/// Cloud's path is <c>organizations/{org}/webhook/</c>, Server's adds the integration id:
/// <c>organizations/{org}/webhook/{integration}/</c>.
/// </summary>
public sealed class BitbucketParser : IIntegrationParser
{
    private readonly int _trailingSegments;

    public BitbucketParser(string provider = "bitbucket")
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        Provider = provider;
        _trailingSegments = provider == "bitbucket_server" ? 1 : 0;
    }

    public string Provider { get; }

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (!OrganizationWebhookPath.Matches(segments, _trailingSegments, out var segment)
            || (_trailingSegments == 1 && OrganizationWebhookPath.ParseId(segments[^1]) is null))
        {
            return new RoutingIntent.Control($"{Provider} pages other than the organization webhook are served by control");
        }

        // Control keeps the webhooks it cannot place, as the reference does for an id that names no organization.
        if (OrganizationWebhookPath.ParseId(segment) is not { } organization)
        {
            return new RoutingIntent.Control($"{Provider} webhook path has no numeric organization id");
        }

        return new RoutingIntent.ToRegions(new RoutingTarget.Organization(organization), RegionDelivery.Mailbox,
            $"{Provider} webhook for organization {organization}");
    }
}
