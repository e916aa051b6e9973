using Proxy.Routing.Signatures;

namespace Proxy.Routing.Tests.Signatures;

public class ResponseUrlPolicyTests
{
    private static readonly string[] Slack = ["https://hooks.slack.com/"];
    private static readonly string[] Local = ["http://127.0.0.1:5000/allowed/"];

    [Theory]
    [InlineData("https://hooks.slack.com/commands/T1/1/abc")]
    [InlineData("https://HOOKS.Slack.COM/commands/T1/1/abc")]
    [InlineData("HTTPS://hooks.slack.com/actions/T1/1/abc?x=1")]
    [InlineData("https://hooks.slack.com:443/commands/x")]
    [InlineData("https://hooks.slack.com/commands/a.b/..c/...")]
    public void Slack_response_urls_are_allowed(string url) => ResponseUrlPolicy.Allows(url, Slack).Should().BeTrue();

    [Theory]
    [InlineData("http://hooks.slack.com/commands/x")] // http where the prefix says https
    [InlineData("https://hooks.slack.com.evil.example/commands/x")]
    [InlineData("https://evil.example/https://hooks.slack.com/")]
    [InlineData("https://user@hooks.slack.com/commands/x")]
    [InlineData("https://user:pw@hooks.slack.com/commands/x")]
    [InlineData("https://hooks.slack.com:8443/commands/x")]
    [InlineData("https://hooks.slack.com/commands/x#frag")]
    [InlineData("//hooks.slack.com/commands/x")]
    [InlineData("/commands/x")]
    [InlineData("ftp://hooks.slack.com/commands/x")]
    [InlineData("https://hooks.slack.com\\@evil.example/")]
    [InlineData(" https://hooks.slack.com/commands/x")]
    [InlineData("https://hooks.slack.com/commands/x\n")]
    [InlineData("")]
    public void Other_hosts_schemes_ports_and_disguises_are_refused(string url) => ResponseUrlPolicy.Allows(url, Slack).Should().BeFalse();

    [Theory]
    [InlineData("http://127.0.0.1:5000/allowed/../escaped/x")]
    [InlineData("http://127.0.0.1:5000/allowed/./x")]
    [InlineData("http://127.0.0.1:5000/allowed/%2e%2e/escaped/x")]
    [InlineData("http://127.0.0.1:5000/allowed/%2E%2E/escaped/x")]
    [InlineData("http://127.0.0.1:5000/allowed/.%2e/escaped/x")]
    [InlineData("http://127.0.0.1:5000/allowed/%2e/x")]
    [InlineData("http://127.0.0.1:5000/allowed/..\\escaped/x")]
    [InlineData("http://127.0.0.1:5000/allowed/..%5cescaped/x")]
    [InlineData("http://127.0.0.1:5000/allowed/..%2fescaped/x")]
    [InlineData("http://127.0.0.1:5000/allowed/x/..")]
    [InlineData("http://127.0.0.1:5000/ALLOWED/x")]
    [InlineData("http://127.0.0.1:5000/allowedx")]
    [InlineData("http://127.0.0.1:5000/")]
    [InlineData("https://127.0.0.1:5000/allowed/x")]
    public void Escapes_from_the_prefix_path_are_refused(string url) => ResponseUrlPolicy.Allows(url, Local).Should().BeFalse();

    [Theory]
    [InlineData("http://127.0.0.1:5000/allowed/x")]
    [InlineData("http://127.0.0.1:5000/allowed/")]
    [InlineData("http://127.0.0.1:5000/allowed/a/b?c=../d")]
    public void Paths_inside_the_prefix_are_allowed(string url) => ResponseUrlPolicy.Allows(url, Local).Should().BeTrue();

    [Fact]
    public void A_prefix_without_a_trailing_slash_matches_at_segment_boundaries_only()
    {
        string[] prefix = ["https://hooks.example.com/slack"];
        ResponseUrlPolicy.Allows("https://hooks.example.com/slack", prefix).Should().BeTrue();
        ResponseUrlPolicy.Allows("https://hooks.example.com/slack/x", prefix).Should().BeTrue();
        ResponseUrlPolicy.Allows("https://hooks.example.com/slack-evil/x", prefix).Should().BeFalse();
    }

    [Fact]
    public void An_unparseable_prefix_allows_nothing()
        => ResponseUrlPolicy.Allows("https://hooks.slack.com/x", ["not a url", ""]).Should().BeFalse();
}
