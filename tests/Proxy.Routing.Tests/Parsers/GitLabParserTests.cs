using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Tests.Parsers;

public class GitLabParserTests
{
    private const string Webhook = "/extensions/gitlab/webhook/";
    private const string Token = "gitlab.example.com:cool-group:a3f1e9b27c";
    private readonly GitLabParser _parser = new();

    public static TheoryData<string, string?, string, string, long?> Cases => new()
    {
        // payload file, X-Gitlab-Token, content type, expected mode (mailbox:{kind in its name}) or problem type, expected bucket id
        { "push.json", Token, "application/json", "mailbox:push", 15 },
        { "merge_request.json", Token, "application/json; charset=utf-8", "mailbox:merge_request", 1 },
        { "no_project.json", Token, "application/json", "mailbox:build", null },
        { "unknown_kind.json", Token, "application/json", "mailbox:unknown", 15 },
        { "push.json", null, "application/json", ProblemTypes.MissingIdentifier, null },
        { "push.json", "", "application/json", ProblemTypes.MissingIdentifier, null },
        { "push.json", "gitlab.example.com:a3f1e9b27c", "application/json", ProblemTypes.MissingIdentifier, null },
        { "push.json", "gitlab.example.com:cool-group:sub:a3f1e9b27c", "application/json", ProblemTypes.MissingIdentifier, null },
        { "push.json", Token, "application/x-www-form-urlencoded", ProblemTypes.UnsupportedMediaType, null },
        { "malformed.json", Token, "application/json", ProblemTypes.MalformedBody, null },
        { "array.json", Token, "application/json", ProblemTypes.MalformedBody, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Routes_the_webhook_by_the_integration_named_in_its_token(string file, string? token, string contentType, string expected, long? bucket)
    {
        var headers = new Dictionary<string, string> { ["X-Gitlab-Event"] = "Push Hook" };
        if (token is not null)
        {
            headers["X-Gitlab-Token"] = token;
        }

        var intent = _parser.Parse(Payloads.Request(Webhook, Payloads.Bytes("gitlab", file), contentType, headers));

        if (!expected.StartsWith("mailbox:", StringComparison.Ordinal))
        {
            var reject = intent.Should().BeOfType<RoutingIntent.Reject>().Subject;
            reject.Status.Should().Be(400);
            reject.ProblemType.Should().Be(expected);
            return;
        }

        var toRegions = intent.Should().BeOfType<RoutingIntent.ToRegions>().Subject;
        toRegions.Target.Should().Be(new RoutingTarget.ExternalIntegration("gitlab", "gitlab.example.com:cool-group"));
        toRegions.Delivery.Should().Be(RegionDelivery.Mailbox);
        toRegions.MailboxBucketId.Should().Be(bucket, "busy integrations are bucketed by project.id");
        toRegions.MailboxSuffix.Should().Be(expected["mailbox:".Length..], "only known object kinds name a mailbox");
        toRegions.UnknownTargetStatus.Should().Be(400);
        toRegions.NoRegionStatus.Should().Be(400);
    }

    [Theory]
    [InlineData("/extensions/gitlab/search/acme/7/")]
    [InlineData("/extensions/gitlab/")]
    [InlineData("/extensions/gitlab/webhook/extra/")]
    public void Other_GitLab_pages_go_to_control(string path)
        => _parser.Parse(Payloads.Request(path, Payloads.Bytes("gitlab", "push.json"), "application/json",
            new Dictionary<string, string> { ["X-Gitlab-Token"] = Token })).Should().BeOfType<RoutingIntent.Control>();
}
