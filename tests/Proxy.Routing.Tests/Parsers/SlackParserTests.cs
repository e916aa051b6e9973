using System.Text;
using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class SlackParserTests
{
    private readonly SlackParser _parser = new();

    public static TheoryData<string, string, string, string?> Cases => new()
    {
        // file, path, expected mode, expected team (or problem type)
        { "event_url_verification.json", "/extensions/slack/event/", "control", null },
        { "event_message.json", "/extensions/slack/event/", "first", "T0001" },
        { "event_link_shared.json", "/extensions/slack/event/", "first", "T0001" },
        { "event_team_object.json", "/extensions/slack/event/", "first", "T0001" },
        { "event_no_team.json", "/extensions/slack/event/", "reject", ProblemTypes.MissingIdentifier },
        { "event_malformed.json", "/extensions/slack/event/", "reject", ProblemTypes.MalformedBody },
        { "event_array.json", "/extensions/slack/event/", "reject", ProblemTypes.MalformedBody },
        { "command_link.form", "/extensions/slack/commands/", "first", "T0001" },
        { "command_no_team.form", "/extensions/slack/commands/", "reject", ProblemTypes.MissingIdentifier },
        { "invalid_utf8.form", "/extensions/slack/commands/", "reject", ProblemTypes.MalformedBody },
        { "action_button_resolve.form", "/extensions/slack/action/", "all", "T0001" },
        { "action_button_link.form", "/extensions/slack/action/", "first", "T0001" },
        { "action_button_all_slack.form", "/extensions/slack/action/", "first", "T0001" },
        { "action_select_ignore.form", "/extensions/slack/action/", "first", "T0001" },
        { "action_select_assign.form", "/extensions/slack/action/", "all", "T0001" },
        { "action_view_submission.form", "/extensions/slack/action/", "all", "T0001" },
        { "action_payload_not_json.form", "/extensions/slack/action/", "reject", ProblemTypes.MalformedBody },
        { "action_no_payload.form", "/extensions/slack/action/", "reject", ProblemTypes.MalformedBody },
        { "action_no_team.form", "/extensions/slack/action/", "reject", ProblemTypes.MissingIdentifier },
        { "options_load.form", "/extensions/slack/options-load/", "first", "T0001" },
        { "action_team_id_only.form", "/extensions/slack/action/", "all", "T0001" },
        { "options_load_team_id.form", "/extensions/slack/options-load/", "first", "T0001" },
        { "action_link_identity.form", "/extensions/slack/action/", "control", null },
        { "action_unlink_identity.form", "/extensions/slack/action/", "control", null },
        { "action_encoded_org.form", "/extensions/slack/action/", "all", "T0001" },
        { "command_link_team_org.form", "/extensions/slack/commands/", "first", "T0001" },
        { "command_set_org.form", "/extensions/slack/commands/", "first", "T0001" },
    };

    /// <summary>Every form case again with the same fields sent as multipart/form-data.</summary>
    public static TheoryData<string, string, string, string?> MultipartCases()
    {
        var cases = new TheoryData<string, string, string, string?>();
        foreach (var row in Cases)
        {
            var (file, path, mode, expected) = row.Data;
            if (file.EndsWith(".form", StringComparison.Ordinal))
            {
                cases.Add(file.Replace(".form", ".multipart", StringComparison.Ordinal), path, mode, expected);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    [MemberData(nameof(MultipartCases))]
    public void Routes_each_endpoint_and_branch(string file, string path, string mode, string? expected)
    {
        var intent = _parser.Parse(Payloads.FromFile("slack", file, path));

        switch (mode)
        {
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            case "reject":
                var reject = intent.Should().BeOfType<RoutingIntent.Reject>().Subject;
                reject.Status.Should().Be(400);
                reject.ProblemType.Should().Be(expected);
                break;
            default:
                var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
                toRegions.Target.Should().Be(new RoutingTarget.ExternalIntegration("slack", expected!));
                toRegions.Delivery.Should().Be(mode == "all" ? RegionDelivery.AllRegions : RegionDelivery.FirstRegion);
                toRegions.UnknownTargetStatus.Should().Be(400, "an unknown Slack team is a misconfiguration worth a 400");
                toRegions.NoRegionStatus.Should().Be(202, "Slack stops retrying a team whose organizations removed the app");
                break;
        }
    }

    [Theory]
    [InlineData("/extensions/slack/link-identity/abc:def:ghi/")]
    [InlineData("/extensions/slack/unlink-identity/abc:def:ghi/")]
    [InlineData("/extensions/slack/")]
    [InlineData("/extensions/slack/something-new/")]
    public void Identity_links_and_unknown_endpoints_go_to_control(string path)
        => _parser.Parse(Payloads.Request(path, [])).Should().BeOfType<RoutingIntent.Control>();

    [Theory]
    [InlineData("link-team", "signed_link_team.txt")]
    [InlineData("unlink-team", "signed_link_team.txt")]
    [InlineData("link-team", "signed_link_team_compressed.txt")]
    public void Team_links_route_by_the_integration_id_in_the_signed_parameters(string endpoint, string file)
    {
        var signed = Payloads.Text("slack", file);

        var intent = _parser.Parse(Payloads.Request($"/extensions/slack/{endpoint}/{signed}/", []));

        var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
        toRegions.Target.Should().Be(new RoutingTarget.IntegrationId(10));
        toRegions.Delivery.Should().Be(RegionDelivery.FirstRegion);
    }

    [Theory]
    [InlineData("/extensions/slack/link-team/not-signed/")]
    [InlineData("/extensions/slack/link-team/!!!:abc:def/")]
    [InlineData("/extensions/slack/link-team/")]
    public void Unreadable_signed_parameters_are_rejected(string path)
        => _parser.Parse(Payloads.Request(path, [])).Should().BeOfType<RoutingIntent.Reject>()
            .Which.ProblemType.Should().Be(ProblemTypes.MissingIdentifier);

    [Fact]
    public void The_staging_app_routes_to_its_own_provider_key()
    {
        var intent = new SlackParser("slack_staging").Parse(Payloads.FromFile("slack", "event_message.json", "/extensions/slack-staging/event/"));

        intent.Should().BeOfType<RoutingIntent.ToRegions>()
            .Which.Target.Should().Be(new RoutingTarget.ExternalIntegration("slack_staging", "T0001"));
    }

    [Fact]
    public void Url_verification_is_recognised_only_in_a_JSON_object()
    {
        var body = """{"type":"url_verification","challenge":"x","team_id":"T0001"}"""u8.ToArray();

        _parser.Parse(Payloads.Request("/extensions/slack/event/", body, "application/json"))
            .Should().BeOfType<RoutingIntent.Control>();
    }
}

public class SlackResponseUrlTests
{
    private readonly SlackParser _parser = new();

    [Theory]
    [InlineData("command_link.form", "/extensions/slack/commands/", "https://hooks.slack.com/commands/1234/5678")]
    [InlineData("action_button_resolve.form", "/extensions/slack/action/", "https://hooks.slack.com/actions/T0001/1234/abcd")]
    [InlineData("action_button_link.form", "/extensions/slack/action/", "https://hooks.slack.com/actions/T0001/1234/abcd")]
    [InlineData("event_message.json", "/extensions/slack/event/", null)]
    [InlineData("options_load.form", "/extensions/slack/options-load/", null)]
    public void Commands_and_actions_carry_their_response_url(string file, string path, string? expected)
        => _parser.Parse(Payloads.FromFile("slack", file, path)).Should().BeOfType<RoutingIntent.ToRegions>()
            .Which.ResponseUrl.Should().Be(expected);
}

public class SlackTeamTests
{
    private readonly SlackParser _parser = new();

    [Fact]
    public void A_team_seen_before_is_the_same_target_and_others_stay_apart()
    {
        var first = Target("team_id=T1&command=%2Fsentry");
        Target("team_id=T1&text=again").Should().BeSameAs(first);
        Target("team_id=T2").Should().Be(new RoutingTarget.ExternalIntegration("slack", "T2"));
        first.Should().Be(new RoutingTarget.ExternalIntegration("slack", "T1"));
    }

    [Theory]
    [InlineData("team_id=T%31", "T1")]
    [InlineData("team_id=caf%C3%A9", "café")]
    public void An_encoded_team_id_is_decoded(string body, string team)
        => Target(body).Should().Be(new RoutingTarget.ExternalIntegration("slack", team));

    [Theory]
    [InlineData("team_id=&command=x")]
    [InlineData("team_id=%FF")]
    public void An_empty_or_undecodable_team_id_names_no_team(string body)
        => _parser.Parse(Payloads.Request("/extensions/slack/commands/", Encoding.UTF8.GetBytes(body), "application/x-www-form-urlencoded"))
            .Should().BeOfType<RoutingIntent.Reject>().Which.ProblemType.Should().Be(ProblemTypes.MissingIdentifier);

    private RoutingTarget Target(string body)
        => _parser.Parse(Payloads.Request("/extensions/slack/commands/", Encoding.UTF8.GetBytes(body), "application/x-www-form-urlencoded"))
            .Should().BeOfType<RoutingIntent.ToRegions>().Which.Target;
}

public class SlackOrganizationTargetingTests
{
    private readonly SlackParser _parser = new();

    public static TheoryData<string, string, long?, string?> Cases => new()
    {
        // file (urlencoded and multipart), path, organization id, organization slug
        { "command_link_team_org", "/extensions/slack/commands/", null, "globex" },
        { "command_unlink_team_org", "/extensions/slack/commands/", null, "globex" },
        { "command_set_org", "/extensions/slack/commands/", null, "globex" },
        { "command_link_team_unknown_org", "/extensions/slack/commands/", null, "no-such-org" },
        { "command_link", "/extensions/slack/commands/", null, null },
        { "action_encoded_org", "/extensions/slack/action/", 2, null },
        { "action_encoded_org_not_a_number", "/extensions/slack/action/", null, null },
        { "action_button_resolve", "/extensions/slack/action/", null, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Commands_and_actions_name_the_organization_they_act_on(string file, string path, long? id, string? slug)
    {
        foreach (var variant in new[] { ".form", ".multipart" })
        {
            var intent = _parser.Parse(Payloads.FromFile("slack", file + variant, path)).Should().BeOfType<RoutingIntent.ToRegions>().Subject;

            intent.Organization.Should().Be(id is null && slug is null ? null : new TargetOrganization(id, slug), variant);
        }
    }

    [Theory]
    [InlineData("link team", null)]
    [InlineData("LINK   Team   Acme-Co", "Acme-Co")]
    [InlineData("help", null)]
    [InlineData("link", null)]
    [InlineData("unset org", null)]
    public void The_command_text_names_a_slug_only_for_org_scoped_commands(string text, string? slug)
        => SlackParser.CommandOrganization(text).Should().Be(slug is null ? null : TargetOrganization.BySlug(slug));

    [Theory]
    [InlineData("resolve::7", 7L)]
    [InlineData("archive::7::99", 7L)]
    [InlineData("resolve", null)]
    [InlineData("resolve::-1", null)]
    [InlineData("resolve::7::8::9", null)]
    [InlineData("resolve::99999999999999999999", null)]
    public void An_action_id_encodes_an_organization_id(string actionId, long? id)
        => SlackParser.ActionOrganization(actionId).Should().Be(id is { } value ? TargetOrganization.ById(value) : null);

    [Fact]
    public void A_multipart_response_url_is_read_raw()
        => _parser.Parse(Payloads.FromFile("slack", "command_link.multipart", "/extensions/slack/commands/"))
            .Should().BeOfType<RoutingIntent.ToRegions>().Which.ResponseUrl.Should().Be("https://hooks.slack.com/commands/1234/5678");
}

public class SlackMultipartFramingTests
{
    private readonly SlackParser _parser = new();

    [Theory]
    [InlineData("multipart/form-data", "--b\r\nContent-Disposition: form-data; name=\"team_id\"\r\n\r\nT1\r\n--b--\r\n")]
    [InlineData("multipart/form-data; boundary=b", "no boundary line here")]
    [InlineData("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"team_id\"\r\n\r\nT1 never closed")]
    [InlineData("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"team_id\"")]
    [InlineData("multipart/form-data; boundary=b", "--bX")]
    public void Broken_framing_is_a_400_malformed_body(string contentType, string body)
        => _parser.Parse(Payloads.Request("/extensions/slack/commands/", Encoding.UTF8.GetBytes(body), contentType))
            .Should().BeOfType<RoutingIntent.Reject>().Which.ProblemType.Should().Be(ProblemTypes.MalformedBody);

    [Fact]
    public void A_boundary_over_70_characters_is_refused()
    {
        var boundary = new string('b', 71);
        var body = $"--{boundary}\r\nContent-Disposition: form-data; name=\"team_id\"\r\n\r\nT1\r\n--{boundary}--\r\n";

        _parser.Parse(Payloads.Request("/extensions/slack/commands/", Encoding.UTF8.GetBytes(body), $"multipart/form-data; boundary={boundary}"))
            .Should().BeOfType<RoutingIntent.Reject>().Which.ProblemType.Should().Be(ProblemTypes.MalformedBody);
    }

    [Fact]
    public void More_parts_than_the_field_cap_are_refused()
    {
        var body = new StringBuilder();
        for (var i = 0; i <= 1024; i++)
        {
            body.Append("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n");
        }

        body.Append("--b\r\nContent-Disposition: form-data; name=\"team_id\"\r\n\r\nT1\r\n--b--\r\n");

        _parser.Parse(Payloads.Request("/extensions/slack/commands/", Encoding.UTF8.GetBytes(body.ToString()), "multipart/form-data; boundary=b"))
            .Should().BeOfType<RoutingIntent.Reject>().Which.Detail.Should().Contain("1024");
    }

    [Fact]
    public void A_quoted_boundary_and_a_file_part_are_handled_as_Django_does()
    {
        // The file part is not a field: its "team_id" is ignored and the field after it is read.
        const string body = "--q b\r\nContent-Disposition: form-data; name=\"team_id\"; filename=\"t.txt\"\r\nContent-Type: text/plain\r\n\r\nTFILE\r\n"
            + "--q b\r\nContent-Disposition: form-data; name=\"team_id\"\r\n\r\nTFIELD\r\n--q b--\r\n";

        _parser.Parse(Payloads.Request("/extensions/slack/commands/", Encoding.UTF8.GetBytes(body), "multipart/form-data; boundary=\"q b\""))
            .Should().BeOfType<RoutingIntent.ToRegions>().Which.Target.Should().Be(new RoutingTarget.ExternalIntegration("slack", "TFIELD"));
    }
}
