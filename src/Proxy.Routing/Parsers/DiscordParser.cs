using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Discord interactions: the guild is the integration. Discord wants an answer within 3 s: a slash command is answered
/// by the first region, a message component (a button on a message every region may have posted) by every region;
/// PINGs and everything else belong to control.
/// </summary>
public sealed class DiscordParser : IIntegrationParser
{
    private const int Ping = 1;
    private const int ApplicationCommand = 2;
    private const int MessageComponent = 3;

    public string Provider => "discord";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!EndpointPath.Is(WebhookPath.SegmentsAfterProvider(request.Path), "interactions"))
        {
            return new RoutingIntent.Control("discord pages other than interactions are served by control");
        }

        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the Discord interaction is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var typeElement)
                || typeElement.ValueKind != JsonValueKind.Number || !typeElement.TryGetInt32(out var type))
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the Discord interaction has no numeric type");
            }

            if (type is not (ApplicationCommand or MessageComponent))
            {
                return new RoutingIntent.Control(type == Ping ? "discord ping" : $"discord interaction type {type} is served by control");
            }

            var guild = PayloadReader.StringAt(root, "guild_id");
            if (guild is null)
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier, "the Discord interaction has no guild_id");
            }

            var interaction = PayloadReader.StringAt(root, "id");
            return type == ApplicationCommand
                ? new RoutingIntent.ToRegions(new RoutingTarget.ExternalIntegration(Provider, guild), RegionDelivery.FirstRegion,
                    "discord command") { DeliveryId = interaction }
                : new RoutingIntent.ToRegions(new RoutingTarget.ExternalIntegration(Provider, guild), RegionDelivery.AllRegions,
                    "discord message component goes to every region") { DeliveryId = interaction };
        }
    }
}
