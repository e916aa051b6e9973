using Microsoft.AspNetCore.Http;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Tests.Requests;

public class WebhookPathTests
{
    [Theory]
    [InlineData("/extensions/slack/event/", "slack")]
    [InlineData("/extensions/github-enterprise/webhook/", "github_enterprise")]
    [InlineData("/extensions/Jira-Server/issue-updated/abc/", "jira_server")]
    [InlineData("/extensions/vsts", "vsts")]
    [InlineData("/plugins/github/organizations/1/webhook/", "plugins")]
    [InlineData("/extensions/", null)]
    [InlineData("/api/0/projects/", null)]
    [InlineData("/", null)]
    public void Reads_the_provider_key(string path, string? expected)
        => WebhookPath.ProviderOf(new PathString(path)).Should().Be(expected);

    [Theory]
    [InlineData("/extensions/github/setup/", true)]
    [InlineData("/extensions/slack/link/", true)]
    [InlineData("/extensions/slack/link-team/abc/", false)]
    [InlineData("/extensions/slack/event/", false)]
    public void Install_and_link_pages_are_control_flows(string path, bool expected)
        => WebhookPath.IsControlFlow(new PathString(path)).Should().Be(expected);
}
