using Proxy.Routing.Signatures;

namespace Proxy.Routing.Tests.Signatures;

public class ResponseUrlPolicyTests
{
    [Theory]
    [InlineData("https://hooks.slack.com/commands/1234/5678", true)]
    [InlineData("https://HOOKS.slack.com/actions/T1/2/3", true)]
    [InlineData("http://hooks.slack.com/commands/1234/5678", false)]
    [InlineData("https://hooks.slack.com.evil.example/commands/1", false)]
    [InlineData("https://evil.example/?https://hooks.slack.com/", false)]
    [InlineData("https://user:pass@hooks.slack.com/commands/1", false)]
    [InlineData("not a url", false)]
    public void By_default_only_Slack_hooks_over_https_are_allowed(string url, bool allowed)
        => new ProviderSecret().AllowsResponseUrl(url).Should().Be(allowed);

    [Fact]
    public void Configured_prefixes_replace_the_default()
    {
        var settings = new ProviderSecret();
        settings.ResponseUrlPrefixes.Add("http://127.0.0.1:9000/");

        settings.AllowsResponseUrl("http://127.0.0.1:9000/hook").Should().BeTrue();
        settings.AllowsResponseUrl("https://hooks.slack.com/commands/1").Should().BeFalse();
    }

    [Fact]
    public void Deferred_answers_can_be_turned_off()
        => new ProviderSecret { DeferredResponses = false }.AllowsResponseUrl("https://hooks.slack.com/commands/1").Should().BeFalse();
}
