using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class DiscordParserTests
{
    private const string Interactions = "/extensions/discord/interactions/";
    private readonly DiscordParser _parser = new();

    public static TheoryData<string, string, string?> Cases => new()
    {
        // file, expected mode, problem type when rejected
        { "ping.json", "control", null },
        { "autocomplete.json", "control", null },
        { "command.json", "first", null },
        { "component.json", "all", null },
        { "command_in_dm.json", "reject", ProblemTypes.MissingIdentifier },
        { "no_type.json", "reject", ProblemTypes.MalformedBody },
        { "malformed.json", "reject", ProblemTypes.MalformedBody },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_each_interaction_type(string file, string mode, string? problem)
    {
        var intent = _parser.Parse(Payloads.FromFile("discord", file, Interactions));

        switch (mode)
        {
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            case "reject":
                intent.Should().BeOfType<RoutingIntent.Reject>().Which.ProblemType.Should().Be(problem);
                break;
            default:
                var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
                toRegions.Target.Should().Be(new RoutingTarget.ExternalIntegration("discord", "290926798626357999"));
                toRegions.Delivery.Should().Be(mode == "all" ? RegionDelivery.AllRegions : RegionDelivery.FirstRegion);
                break;
        }
    }

    [Theory]
    [InlineData("/extensions/discord/link-identity/abc/")]
    [InlineData("/extensions/discord/configure/")]
    public void Other_Discord_pages_go_to_control(string path)
        => _parser.Parse(Payloads.FromFile("discord", "command.json", path)).Should().BeOfType<RoutingIntent.Control>();
}
