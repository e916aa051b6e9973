using Proxy.Routing.Requests;
using Proxy.Routing.Rules;

namespace Proxy.Routing.Parsers;

/// <summary>
/// GitHub Enterprise Server apps: the GitHub rules (<see cref="GitHubParser"/>), with the integration known as
/// <c>{host}:{installation.id}</c> because installation ids are only unique per GitHub host. The host comes from
/// <c>X-GitHub-Enterprise-Host</c>; the <c>webhook/github-com/</c> endpoint serves the same app installed on github.com.
/// </summary>
public sealed class GitHubEnterpriseParser(Func<ProviderRules>? rules = null) : IIntegrationParser
{
    private readonly Func<ProviderRules> _rules = rules ?? (() => ProviderRules.Defaults);

    private const string GitHubComHost = "github.com";

    public string Provider => "github_enterprise";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        string? host;
        if (EndpointPath.Is(segments, "webhook"))
        {
            host = request.Header("X-GitHub-Enterprise-Host");
        }
        else if (EndpointPath.Is(segments, "webhook", "github-com"))
        {
            host = GitHubComHost;
        }
        else
        {
            return new RoutingIntent.Control("github_enterprise pages other than the webhooks are served by control");
        }

        return GitHubParser.ParseWebhook(request, Provider, _rules().Of(Provider), "GitHub Enterprise",
            installation => string.IsNullOrWhiteSpace(host) ? null : $"{host}:{installation}",
            "the GitHub Enterprise webhook has no X-GitHub-Enterprise-Host header");
    }
}
