using Proxy.Routing.Parsers;

namespace Proxy.Routing.Tests.Parsers;

public class MsTeamsParserTests
{
    private const string Webhook = "/extensions/msteams/webhook/";
    private const string Team = "19:8d60cd8d2d3d4a8f8d0b9b3c1e6e2f4a@thread.skype";
    private const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    private readonly MsTeamsParser _parser = new();

    public static TheoryData<string, string, string, string?> Cases => new()
    {
        // path, payload file, expected mode, expected target (integration id, or external id)
        { Webhook, "message_in_team.json", "external", Team },
        { Webhook, "conversation_update.json", "external", Team },
        { Webhook, "card_action.json", "integration", "10" },
        { Webhook, "card_action_personal.json", "external", Tenant },
        { Webhook, "personal_message.json", "control", null },
        { Webhook, "installation_update_add.json", "control", null },
        { Webhook, "installation_update_remove.json", "control", null },
        { Webhook, "no_type.json", "control", null },
        { Webhook, "malformed.json", "control", null },
        { "/extensions/msteams/configure/", "message_in_team.json", "control", null },
        { "/extensions/msteams/link-identity/abc:def:ghi/", "message_in_team.json", "control", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_bot_activities_by_card_integration_team_or_tenant(string path, string file, string mode, string? expected)
    {
        var intent = _parser.Parse(Payloads.FromFile("msteams", file, path));

        if (mode == "control")
        {
            intent.Should().BeOfType<RoutingIntent.Control>();
            return;
        }

        var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
        toRegions.Target.Should().Be(mode == "integration"
            ? new RoutingTarget.IntegrationId(long.Parse(expected!, System.Globalization.CultureInfo.InvariantCulture))
            : new RoutingTarget.ExternalIntegration("msteams", expected!));
        toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
        toRegions.MailboxSuffix.Should().BeNull("the mailbox is msteams:{integration id}");
        toRegions.UnknownTargetStatus.Should().Be(400);
        toRegions.NoRegionStatus.Should().Be(400);
    }
}
