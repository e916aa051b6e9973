using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Slack: every webhook wants a synchronous answer within 3 s. The team id picks the integration; block actions go to
/// every region (each may own part of the message), everything else to the alphabetically first region.
/// </summary>
public sealed class SlackParser(string provider = "slack") : IIntegrationParser
{
    /// <summary>Action values whose handling lives in one region only.</summary>
    private static readonly HashSet<string> FirstRegionActionOptions = new(StringComparer.Ordinal) { "link", "ignore", "all_slack" };

    private readonly ExternalTargetPool _teams = new(provider);

    public string Provider { get; } = provider;

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The hot endpoints are matched on a slice of the path: no split, no lower-cased copy.
        var endpoint = WebhookPath.EndpointAfterProvider(request.Path);
        if (endpoint.Equals("commands", StringComparison.OrdinalIgnoreCase))
        {
            return ParseFormWithTeam(request, "slash command", "slack slash command");
        }

        if (endpoint.Equals("event", StringComparison.OrdinalIgnoreCase))
        {
            return ParseEvent(request);
        }

        if (endpoint.Equals("action", StringComparison.OrdinalIgnoreCase))
        {
            return ParseAction(request);
        }

        if (endpoint.Equals("options-load", StringComparison.OrdinalIgnoreCase))
        {
            return ParseAction(request, optionsLoad: true);
        }

        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        var name = segments.Length > 0 ? segments[0].ToLowerInvariant() : string.Empty;
        return name switch
        {
            "link-team" or "unlink-team" => ParseSignedLink(segments, name),
            _ => new RoutingIntent.Control($"slack {(name.Length == 0 ? "root" : name)} is served by control"),
        };
    }

    private RoutingIntent ParseEvent(WebhookRequest request)
    {
        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return Malformed("the Slack event body is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Malformed("the Slack event body is not a JSON object");
            }

            if (PayloadReader.StringAt(root, "type") == "url_verification")
            {
                return new RoutingIntent.Control("slack url_verification challenge");
            }

            var team = PayloadReader.StringAt(root, "team_id") ?? PayloadReader.StringAt(root, "team", "id");
            return team is null
                ? MissingTeam("event")
                : ToRegions(new RoutingTarget.ExternalIntegration(Provider, team), RegionDelivery.FirstRegion, "slack event",
                    deliveryId: PayloadReader.StringAt(root, "event_id"));
        }
    }

    private RoutingIntent ParseFormWithTeam(WebhookRequest request, string what, string reason)
    {
        var body = request.Body;
        if (!FormFields.IsValid(body.Span))
        {
            return Malformed($"the Slack {what} body is not a valid form");
        }

        if (!FormFields.TryFind(body.Span, "team_id", out var teamField) || TeamFromForm(body.Span[teamField]) is not { } team)
        {
            return MissingTeam(what);
        }

        // The response URL is kept encoded: only a deferred answer reads it.
        var responseUrl = FormFields.TryFind(body.Span, "response_url", out var url) ? body[url] : default;
        return ToRegions(team, RegionDelivery.FirstRegion, reason, formEncodedResponseUrl: responseUrl);
    }

    /// <summary>The team of a form's encoded <c>team_id</c>; a team seen before costs no allocation.</summary>
    private RoutingTarget.ExternalIntegration? TeamFromForm(ReadOnlySpan<byte> encoded)
    {
        if (FormFields.IsPlain(encoded))
        {
            return encoded.IsEmpty ? null : _teams.Get(encoded);
        }

        return FormFields.Decode(encoded) is { Length: > 0 } team ? new RoutingTarget.ExternalIntegration(Provider, team) : null;
    }

    private RoutingIntent ParseAction(WebhookRequest request, bool optionsLoad = false)
    {
        var what = optionsLoad ? "options load" : "action";
        if (!FormFields.IsValid(request.Body.Span))
        {
            return Malformed($"the Slack {what} body is not a valid form");
        }

        var payload = FormFields.Get(request.Body.Span, "payload");
        if (string.IsNullOrEmpty(payload))
        {
            return Malformed($"the Slack {what} form has no payload field");
        }

        if (!PayloadReader.TryParseJson(payload, out var document))
        {
            return Malformed($"the Slack {what} payload is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Malformed($"the Slack {what} payload is not a JSON object");
            }

            var team = PayloadReader.StringAt(root, "team", "id") ?? PayloadReader.StringAt(root, "team_id");
            if (team is null)
            {
                return MissingTeam(what);
            }

            if (optionsLoad)
            {
                return ToRegions(team, RegionDelivery.FirstRegion, "slack options load");
            }

            var option = ActionOption(root);
            var responseUrl = PayloadReader.StringAt(root, "response_url");
            return option is not null && FirstRegionActionOptions.Contains(option)
                ? ToRegions(team, RegionDelivery.FirstRegion, $"slack action '{option}' is served by one region", responseUrl)
                : ToRegions(team, RegionDelivery.AllRegions, "slack action goes to every region", responseUrl);
        }
    }

    /// <summary>
    /// The option an interactive action carries: the first action's value, or the chosen option of a select menu.
    /// </summary>
    internal static string? ActionOption(JsonElement payload)
    {
        if (!payload.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        string? option = null;
        foreach (var action in actions.EnumerateArray())
        {
            if (action.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var type = PayloadReader.StringAt(action, "type");
            if (type is "static_select" or "external_select"
                && PayloadReader.StringAt(action, "selected_option", "value") is { } selected)
            {
                option = selected;
            }
            else if (option is null && PayloadReader.StringAt(action, "value") is { } value)
            {
                option = value;
            }
        }

        return option;
    }

    private static RoutingIntent ParseSignedLink(string[] segments, string endpoint)
    {
        var integrationId = segments.Length > 1 ? SignedLinkParameters.IntegrationId(segments[1]) : null;
        if (integrationId is null)
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier,
                $"the Slack {endpoint} link does not carry a readable integration id");
        }

        return ToRegions(new RoutingTarget.IntegrationId(integrationId.Value), RegionDelivery.FirstRegion, $"slack {endpoint}");
    }

    private RoutingIntent.ToRegions ToRegions(string team, RegionDelivery delivery, string reason, string? responseUrl = null)
        => ToRegions(new RoutingTarget.ExternalIntegration(Provider, team), delivery, reason, responseUrl);

    private static RoutingIntent.ToRegions ToRegions(RoutingTarget team, RegionDelivery delivery, string reason,
        string? responseUrl = null, ReadOnlyMemory<byte> formEncodedResponseUrl = default, string? deliveryId = null)
        => new(team, delivery, reason)
        {
            DeliveryId = deliveryId,
            // Answering 202 tells Slack to stop retrying a workspace whose organizations removed the app.
            NoRegionStatus = 202,
            ResponseUrl = responseUrl,
            FormEncodedResponseUrl = formEncodedResponseUrl,
        };

    private static RoutingIntent.Reject Malformed(string detail) => new(400, ProblemTypes.MalformedBody, detail);

    private static RoutingIntent.Reject MissingTeam(string what)
        => new(400, ProblemTypes.MissingIdentifier, $"the Slack {what} does not name a team");
}
