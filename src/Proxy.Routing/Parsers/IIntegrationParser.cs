using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Reads just enough of one provider's webhooks to say where they go. Implementations are pure: no I/O, no clock,
/// the same request always gives the same intent.
/// </summary>
public interface IIntegrationParser
{
    /// <summary>The provider key, as in <c>/extensions/{provider}/</c> with dashes turned into underscores.</summary>
    string Provider { get; }

    RoutingIntent Parse(WebhookRequest request);
}
