using System.Globalization;
using System.Text.Json;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Microsoft Teams bot activities (<c>webhook/</c>). The integration is the one a card action names
/// (<c>value.payload.integrationId</c>, our own id), else the team (<c>channelData.team.id</c>), else the tenant.
/// Installs, installation updates and activities that name no team stay with control, which answers them at once;
/// the rest go through the mailbox.
/// </summary>
public sealed class MsTeamsParser : IIntegrationParser
{
    public string Provider => "msteams";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (!EndpointPath.Is(segments, "webhook"))
        {
            return new RoutingIntent.Control("msteams pages other than the bot webhook are served by control");
        }

        // Control reads what the edge cannot, as the reference does with a body it cannot parse.
        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return new RoutingIntent.Control("msteams activity is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new RoutingIntent.Control("msteams activity is not a JSON object");
            }

            var hasCardIntegration = PayloadReader.TryGetPath(root, out var card, "value", "payload", "integrationId")
                && card.ValueKind != JsonValueKind.Null;
            var team = PayloadReader.StringAt(root, "channelData", "team", "id");
            if (!hasCardIntegration && team is null)
            {
                return new RoutingIntent.Control("msteams activity names no card integration and no team");
            }

            var type = PayloadReader.StringAt(root, "type");
            if (type is null or "installationUpdate")
            {
                return new RoutingIntent.Control($"msteams {type ?? "untyped"} activity is answered by control");
            }

            RoutingTarget? target = CardIntegration(card) is { } id ? new RoutingTarget.IntegrationId(id) : null;
            var external = team ?? PayloadReader.StringAt(root, "channelData", "tenant", "id");
            target ??= external is null ? null : new RoutingTarget.ExternalIntegration(Provider, external);
            return target is null
                ? new RoutingIntent.Control("msteams activity names no usable integration")
                : new RoutingIntent.ToRegions(target, RegionDelivery.Mailbox, $"msteams {type}") { DeliveryId = PayloadReader.StringAt(root, "id") };
        }
    }

    /// <summary>The card's integration id when it is a number (or a numeric string); anything else falls back to the team.</summary>
    private static long? CardIntegration(JsonElement card) => card.ValueKind switch
    {
        JsonValueKind.Number when card.TryGetInt64(out var id) => id,
        JsonValueKind.String when long.TryParse(card.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) => id,
        _ => null,
    };
}
