using System.Text;
using Proxy.Routing.Parsers;
using Proxy.Routing.Rules;

namespace Proxy.Routing.Tests.Rules;

public class ProviderRulesDefaultsTests
{
    public static TheoryData<string, string, RuleAction> Endpoints => new()
    {
        // provider, endpoint, action by default (the reference's)
        { "github", "webhook", RuleAction.Deliver },
        { "github", "installation", RuleAction.Control },
        { "github_enterprise", "webhook", RuleAction.Deliver },
        { "gitlab", "webhook", RuleAction.Deliver },
        { "gitlab", "search", RuleAction.Control },
        { "slack", "commands", RuleAction.Deliver },
        { "slack", "event", RuleAction.Deliver },
        { "slack", "action", RuleAction.Deliver },
        { "slack", "options-load", RuleAction.Deliver },
        { "slack", "link-team", RuleAction.Deliver },
        { "slack", "link-identity", RuleAction.Control },
        { "slack_staging", "unlink-team", RuleAction.Deliver },
        { "discord", "interactions", RuleAction.Deliver },
        { "discord", "configure", RuleAction.Control },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public void Endpoints_default_to_the_reference(string provider, string endpoint, RuleAction expected)
        => ProviderRules.Defaults.For(provider)!.ForEndpoint(endpoint).Should().Be(expected);

    [Theory]
    [InlineData("github", "installation", RuleAction.Control)]
    [InlineData("github", "push", RuleAction.Deliver)]
    [InlineData("github", "installation_repositories", RuleAction.Deliver)]
    [InlineData("github", "star", RuleAction.Drop)]
    [InlineData("github_enterprise", "installation", RuleAction.Control)]
    [InlineData("gitlab", "push", RuleAction.Deliver)]
    [InlineData("gitlab", "anything_else", RuleAction.Deliver)]
    [InlineData("slack", "url_verification", RuleAction.Control)]
    [InlineData("slack", "message", RuleAction.Deliver)]
    public void Events_default_to_the_reference(string provider, string eventName, RuleAction expected)
        => ProviderRules.Defaults.For(provider)!.ForEvent(eventName).Should().Be(expected);

    [Fact]
    public void Providers_the_table_does_not_cover_are_left_to_their_parser()
        => ProviderRules.Defaults.For("jira").Should().BeNull();

    [Fact]
    public void Drop_statuses_are_202_for_mailbox_providers_and_200_for_chat_providers()
    {
        ProviderRules.Defaults.For("github")!.DropStatus.Should().Be(202);
        ProviderRules.Defaults.For("gitlab")!.DropStatus.Should().Be(202);
        ProviderRules.Defaults.For("slack")!.DropStatus.Should().Be(200);
        ProviderRules.Defaults.For("discord")!.DropStatus.Should().Be(200);
    }
}

public class ProviderRulesValidatorTests
{
    private static IReadOnlyList<string> Errors(string json) => ProviderRulesValidator.Validate(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("""{"Providers":{"github":{"Events":{"push":"mailbx"}}}}""", "Providers.github.Events.push: unknown action 'mailbx'")]
    [InlineData("""{"Providers":{"github":{"Events":{"push":1}}}}""", "Providers.github.Events.push: unknown action Number")]
    [InlineData("""{"Providers":{"github":{"DropStatus":204}}}""", "Providers.github.DropStatus: must be 200 or 202")]
    [InlineData("""{"Providers":{"github":{"Webhooks":{}}}}""", "Providers.github.Webhooks: unknown key")]
    [InlineData("""{"Providers":{"discord":{"Events":{"ping":"drop"}}}}""", "Providers.discord.Events: discord has no event rules")]
    [InlineData("""{"Providers":{"jira":{"OtherEvents":"drop"}}}""", "Providers.jira.OtherEvents: jira has no event rules")]
    [InlineData("""{"Providers":{"GitHub":{}}}""", "Providers.GitHub: a provider key is lower case")]
    [InlineData("""{"Providers":{"github":{"Events":{"bad name":"drop"}}}}""", "Providers.github.Events.bad name: a name is 1 to 100")]
    [InlineData("""{"Providers":{"slack":{"Endpoints":{"event":"later"}}}}""", "Providers.slack.Endpoints.event: unknown action 'later'")]
    [InlineData("""{"Providers":{"slack":"drop"}}""", "Providers.slack: must be an object")]
    [InlineData("""{"Routes":{}}""", "unknown key 'Routes'")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"Providers": """, "not valid JSON")]
    public void Every_problem_names_its_entry(string json, string expected)
        => Errors(json).Should().ContainSingle().Which.Should().Contain(expected);

    [Fact]
    public void All_problems_are_listed_at_once_and_Parse_refuses_the_file()
    {
        const string json = """{"Providers":{"github":{"DropStatus":500,"Events":{"push":"x"}},"gitlab":{"OtherEndpoints":"nope"}}}""";

        Errors(json).Should().HaveCount(3);
        var parse = () => ProviderRulesValidator.Parse(Encoding.UTF8.GetBytes(json));
        parse.Should().Throw<FormatException>().Which.Message.Should().Contain("Providers.gitlab.OtherEndpoints");
    }

    [Fact]
    public void An_entry_overrides_its_default_and_leaves_the_others()
    {
        var rules = ProviderRulesValidator.Parse("""
            // comments and trailing commas are allowed, as in the other config files
            { "Providers": { "github": { "Events": { "installation_repositories": "control", "check_suite": "deliver", "push": "drop", }, "DropStatus": 200 } } }
            """u8);

        var github = rules.For("github")!;
        github.ForEvent("installation_repositories").Should().Be(RuleAction.Control);
        github.ForEvent("check_suite").Should().Be(RuleAction.Deliver);
        github.ForEvent("push").Should().Be(RuleAction.Drop);
        github.ForEvent("installation").Should().Be(RuleAction.Control, "a default the file does not name stays");
        github.ForEvent("star").Should().Be(RuleAction.Drop);
        github.DropStatus.Should().Be(200);
        github.MailboxEventName("check_suite").Should().Be("check_suite", "an event the file delivers may name a mailbox");
        rules.For("github_enterprise")!.ForEvent("installation_repositories").Should().Be(RuleAction.Deliver, "each provider has its own rules");
        rules.For("gitlab")!.ForEvent("push").Should().Be(RuleAction.Deliver, "a provider the file leaves out keeps its defaults");
    }

    [Fact]
    public void A_provider_without_defaults_gets_endpoint_rules()
    {
        var rules = ProviderRulesValidator.Parse("""{"Providers":{"vercel":{"Endpoints":{"webhook":"drop"},"DropStatus":200}}}"""u8);

        rules.For("vercel")!.ForEndpoint("webhook").Should().Be(RuleAction.Drop);
        rules.For("vercel")!.ForEndpoint("other").Should().Be(RuleAction.Deliver, "the parser decides what the table leaves open");
    }
}

/// <summary>The parsers read the rules in force: a deployment changes a file, not the code.</summary>
public class ProviderRulesInParsersTests
{
    private static ProviderRules Rules(string json) => ProviderRulesValidator.Parse(Encoding.UTF8.GetBytes(json));

    private static RoutingIntent GitHub(ProviderRules rules, string file, string gitHubEvent)
        => new GitHubParser(() => rules).Parse(Payloads.Request("/extensions/github/webhook/", Payloads.Bytes("github", file), "application/json",
            new Dictionary<string, string> { ["X-GitHub-Event"] = gitHubEvent }));

    [Fact]
    public void GitHub_events_follow_the_configured_rules()
    {
        var rules = Rules("""{"Providers":{"github":{"Events":{"installation_repositories":"control","star":"deliver","push":"drop"},"DropStatus":200}}}""");

        GitHub(rules, "push.json", "installation_repositories").Should().BeOfType<RoutingIntent.Control>();
        GitHub(rules, "push.json", "push").Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(200);
        GitHub(rules, "push.json", "star").Should().BeOfType<RoutingIntent.ToRegions>().Which.MailboxSuffix.Should().Be("69:star");
        GitHub(ProviderRules.Defaults, "push.json", "star").Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(202);
    }

    [Fact]
    public void Delivering_every_other_event_names_their_mailboxes_with_the_fallback()
    {
        var rules = Rules("""{"Providers":{"github":{"OtherEvents":"deliver"}}}""");

        GitHub(rules, "push.json", "x-sender-made-this-up").Should().BeOfType<RoutingIntent.ToRegions>()
            .Which.MailboxSuffix.Should().Be("69:unknown", "a sender must not mint mailbox names");
    }

    [Fact]
    public void GitHub_Enterprise_has_rules_of_its_own()
    {
        var rules = Rules("""{"Providers":{"github_enterprise":{"Events":{"push":"control"}}}}""");
        var request = Payloads.Request("/extensions/github-enterprise/webhook/", Payloads.Bytes("github", "push.json"), "application/json",
            new Dictionary<string, string> { ["X-GitHub-Event"] = "push", ["X-GitHub-Enterprise-Host"] = "ghe.example.com" });

        new GitHubEnterpriseParser(() => rules).Parse(request).Should().BeOfType<RoutingIntent.Control>();
        GitHub(rules, "push.json", "push").Should().BeOfType<RoutingIntent.ToRegions>();
    }

    [Theory]
    [InlineData("push", "drop")]
    [InlineData("merge_request", "control")]
    [InlineData("pipeline", "mailbox:pipeline")]
    public void GitLab_object_kinds_follow_the_configured_rules(string kind, string expected)
    {
        var rules = Rules("""{"Providers":{"gitlab":{"Events":{"push":"drop","merge_request":"control"}}}}""");
        var body = Encoding.UTF8.GetBytes($$$"""{"object_kind":"{{{kind}}}","project":{"id":15}}""");
        var request = Payloads.Request("/extensions/gitlab/webhook/", body, "application/json",
            new Dictionary<string, string> { ["X-Gitlab-Token"] = "gitlab.example.com:cool-group:s" });

        var intent = new GitLabParser(() => rules).Parse(request);

        switch (expected)
        {
            case "drop":
                intent.Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(202);
                break;
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            default:
                intent.Should().BeOfType<RoutingIntent.ToRegions>().Which.MailboxSuffix.Should().Be("pipeline");
                break;
        }
    }

    [Theory]
    [InlineData("event_message.json", "drop")]
    [InlineData("event_link_shared.json", "first")]
    [InlineData("event_url_verification.json", "control")]
    public void Slack_event_types_follow_the_configured_rules(string file, string expected)
    {
        var rules = Rules("""{"Providers":{"slack":{"Events":{"message":"drop"}}}}""");

        var intent = new SlackParser("slack", () => rules).Parse(Payloads.FromFile("slack", file, "/extensions/slack/event/"));

        switch (expected)
        {
            case "drop":
                intent.Should().BeOfType<RoutingIntent.Respond>().Which.Status.Should().Be(200);
                break;
            case "control":
                intent.Should().BeOfType<RoutingIntent.Control>();
                break;
            default:
                intent.Should().BeOfType<RoutingIntent.ToRegions>().Which.Delivery.Should().Be(RegionDelivery.FirstRegion);
                break;
        }
    }
}
