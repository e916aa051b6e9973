using System.Globalization;
using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Rules;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Slack: every webhook wants a synchronous answer within 3 s. The team id picks the integration; block actions go to
/// every region (each may own part of the message), everything else to the alphabetically first region.
/// </summary>
public sealed class SlackParser(string provider = "slack", Func<ProviderRules>? rules = null) : IIntegrationParser
{
    private readonly Func<ProviderRules> _rules = rules ?? (() => ProviderRules.Defaults);

    /// <summary>Action values whose handling lives in one region only.</summary>
    private static readonly HashSet<string> FirstRegionActionOptions = new(StringComparer.Ordinal) { "link", "ignore", "all_slack" };

    /// <summary>Block actions that link or unlink a Slack identity: control serves them, <c>response_url</c> or not.</summary>
    private static readonly HashSet<string> IdentityActions = new(StringComparer.Ordinal) { "link_identity", "unlink_identity" };

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

            // The rules key of an event: the inner event's type for an event callback, else the outer type
            // (url_verification, the challenge, goes to control by default).
            var type = PayloadReader.StringAt(root, "type");
            var eventType = type == "event_callback" ? PayloadReader.StringAt(root, "event", "type") : type;
            var ruleSet = _rules().Of(Provider);
            switch (ruleSet.ForEvent(eventType))
            {
                case RuleAction.Control:
                    return new RoutingIntent.Control($"slack event '{eventType}' is served by control");
                case RuleAction.Drop:
                    return new RoutingIntent.Respond(ruleSet.DropStatus, $"slack event '{eventType}' is dropped by the provider rules");
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
        if (!FormBody.TryRead(request, out var form, out var error))
        {
            return Malformed($"the Slack {what} body {error}");
        }

        var body = form.Body;
        if (!form.TryFind("team_id", out var teamField) || TeamFromForm(form, body.Span[teamField]) is not { } team)
        {
            return MissingTeam(what);
        }

        var intent = ToRegions(team, RegionDelivery.FirstRegion, reason) with
        {
            Organization = CommandOrganization(form.Get("text")),
        };

        // A urlencoded response URL is kept encoded: only a deferred answer reads it.
        if (!form.TryFind("response_url", out var url))
        {
            return intent;
        }

        return form.IsEncoded ? intent with { FormEncodedResponseUrl = body[url] } : intent with { ResponseUrl = form.Text(body.Span[url]) };
    }

    /// <summary>The team of a form's <c>team_id</c>; a team seen before costs no allocation.</summary>
    private RoutingTarget.ExternalIntegration? TeamFromForm(FormBody form, ReadOnlySpan<byte> value)
    {
        if (!form.IsEncoded || FormFields.IsPlain(value))
        {
            return value.IsEmpty ? null : _teams.Get(value);
        }

        return FormFields.Decode(value) is { Length: > 0 } team ? new RoutingTarget.ExternalIntegration(Provider, team) : null;
    }

    /// <summary>
    /// The organization a <c>/sentry</c> command names: <c>link team {slug}</c>, <c>unlink team {slug}</c> and
    /// <c>set org {slug}</c> act on that organization only.
    /// </summary>
    internal static TargetOrganization? CommandOrganization(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length < 3)
        {
            return null;
        }

        var command = $"{words[0]} {words[1]}".ToLowerInvariant();
        return command is "link team" or "unlink team" or "set org" ? TargetOrganization.BySlug(words[2]) : null;
    }

    /// <summary>
    /// The organization an action id encodes as <c>{action}::{organization_id}[::{project_id}]</c>; an id that is not
    /// a number is ignored.
    /// </summary>
    internal static TargetOrganization? ActionOrganization(string? actionId)
    {
        if (actionId is null)
        {
            return null;
        }

        var parts = actionId.Split("::");
        return parts.Length is 2 or 3 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? TargetOrganization.ById(id)
            : null;
    }

    private RoutingIntent ParseAction(WebhookRequest request, bool optionsLoad = false)
    {
        var what = optionsLoad ? "options load" : "action";
        if (!FormBody.TryRead(request, out var form, out var error))
        {
            return Malformed($"the Slack {what} body {error}");
        }

        var payload = form.Get("payload");
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

            // Slack names the team as team.id or as team_id depending on the payload type; the reference takes both.
            var team = PayloadReader.StringAt(root, "team", "id") ?? PayloadReader.StringAt(root, "team_id");
            if (team is null)
            {
                return MissingTeam(what);
            }

            if (optionsLoad)
            {
                return ToRegions(team, RegionDelivery.FirstRegion, "slack options load");
            }

            var actionId = FirstActionId(root);
            if (actionId is not null && IdentityActions.Contains(actionId))
            {
                return new RoutingIntent.Control($"slack action '{actionId}' links an identity and is served by control");
            }

            var option = ActionOption(root);
            var responseUrl = PayloadReader.StringAt(root, "response_url");
            var intent = option is not null && FirstRegionActionOptions.Contains(option)
                ? ToRegions(team, RegionDelivery.FirstRegion, $"slack action '{option}' is served by one region", responseUrl)
                : ToRegions(team, RegionDelivery.AllRegions, "slack action goes to every region", responseUrl);
            return intent with { Organization = ActionOrganization(actionId) };
        }
    }

    /// <summary>The <c>action_id</c> of a block action's first action.</summary>
    private static string? FirstActionId(JsonElement payload)
        => payload.TryGetProperty("actions", out var actions) && actions.ValueKind == JsonValueKind.Array
            && actions.GetArrayLength() > 0 && actions[0].ValueKind == JsonValueKind.Object
                ? PayloadReader.StringAt(actions[0], "action_id")
                : null;

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
