using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Providers whose every request is served by control (Vercel, Google): registering them says so explicitly, where
/// a provider without a parser would reach control only by default.
/// </summary>
public sealed class ControlOnlyParser(string provider) : IIntegrationParser
{
    public string Provider { get; } = provider;

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new RoutingIntent.Control($"every {Provider} request is served by control");
    }
}
