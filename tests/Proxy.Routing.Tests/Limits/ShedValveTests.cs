using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Proxy.Routing.Limits;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Tests.Limits;

public class ShedValveTests
{
    private static ShedValve Valve(params (string Key, string? Value)[] settings)
        => new(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value))).Build(),
            NullLogger<ShedValve>.Instance);

    private static readonly RoutingTarget.ExternalIntegration s_installation = new("github", "4242");

    [Fact]
    public void Without_rules_nothing_is_shed()
    {
        var valve = Valve();

        valve.Any.Should().BeFalse();
        valve.Match("github", s_installation).Should().BeNull();
    }

    [Fact]
    public void A_provider_rule_sheds_every_webhook_of_that_provider_and_only_of_it()
    {
        var valve = Valve(("Shed:Rules:0:Provider", "github-enterprise"));

        valve.Match("github_enterprise", new RoutingTarget.ExternalIntegration("github_enterprise", "ghe.acme:1"))!
            .ToString().Should().Be("github_enterprise");
        valve.Match("github", s_installation).Should().BeNull();
    }

    [Fact]
    public void An_external_id_rule_sheds_only_that_installation()
    {
        var valve = Valve(("Shed:Rules:0:Provider", "github"), ("Shed:Rules:0:ExternalId", "4242"));

        valve.Match("github", s_installation)!.ToString().Should().Be("github/external:4242");
        valve.Match("github", new RoutingTarget.ExternalIntegration("github", "4243")).Should().BeNull();
        valve.Match("gitlab", new RoutingTarget.ExternalIntegration("gitlab", "4242")).Should().BeNull();
    }

    [Fact]
    public void A_directory_id_rule_matches_a_target_that_carries_the_id_or_the_id_the_directory_named()
    {
        var valve = Valve(("Shed:Rules:0:Provider", "slack"), ("Shed:Rules:0:IntegrationId", "20"));

        valve.Match("slack", new RoutingTarget.IntegrationId(20))!.ToString().Should().Be("slack/integration:20");
        valve.Match("slack", new RoutingTarget.ExternalIntegration("slack", "T1")).Should().BeNull("the directory has not named it yet");
        valve.Match("slack", new RoutingTarget.ExternalIntegration("slack", "T1"), integrationId: 20).Should().NotBeNull();
        valve.Match("slack", new RoutingTarget.IntegrationId(21)).Should().BeNull();
    }

    [Theory]
    [InlineData(null, null, null, "Shed:Rules:0:Provider is required")]
    [InlineData(" ", "1", null, "Shed:Rules:0:Provider is required")]
    [InlineData("github", "1", 2L, "sets both ExternalId and IntegrationId")]
    [InlineData("github", " ", null, "Shed:Rules:0:ExternalId must not be blank")]
    [InlineData("github", null, 0L, "Shed:Rules:0:IntegrationId must be a positive")]
    public void A_bad_rule_is_refused_naming_its_key(string? provider, string? externalId, long? integrationId, string error)
    {
        var options = new ShedOptions { Rules = [new ShedRule { Provider = provider, ExternalId = externalId, IntegrationId = integrationId }] };

        var result = new ShedOptionsValidator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain(error);
    }

    [Fact]
    public async Task A_rule_without_a_provider_fails_the_start_with_the_key_and_no_rule_goes_live()
    {
        var valve = Valve(("Shed:Rules:0:ExternalId", "4242"));

        var start = () => valve.StartAsync(CancellationToken.None);

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Failures.Should().ContainSingle()
            .Which.Should().Contain("Shed:Rules:0:Provider");
        valve.Any.Should().BeFalse();
    }

    [Fact]
    public async Task A_reload_with_a_bad_rule_keeps_the_last_good_rules_and_a_good_one_replaces_them()
    {
        var source = new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = [KeyValuePair.Create<string, string?>("Shed:Rules:0:Provider", "github")],
        };
        var configuration = new ConfigurationBuilder().Add(source).Build();
        var provider = configuration.Providers.Single();
        using var valve = new ShedValve(configuration, NullLogger<ShedValve>.Instance);
        await valve.StartAsync(CancellationToken.None);

        provider.Set("Shed:Rules:0:Provider", "");
        configuration.Reload();
        valve.Match("github", s_installation).Should().NotBeNull("the bad edit is refused");

        provider.Set("Shed:Rules:0:IntegrationId", "abc");
        configuration.Reload();
        valve.Match("github", s_installation).Should().NotBeNull("a value that does not bind is refused too");

        provider.Set("Shed:Rules:0:Provider", "gitlab");
        provider.Set("Shed:Rules:0:IntegrationId", null);
        configuration.Reload();
        valve.Match("github", s_installation).Should().BeNull();
        valve.Match("gitlab", new RoutingTarget.ExternalIntegration("gitlab", "x:y")).Should().NotBeNull();
    }
}
