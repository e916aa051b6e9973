using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Duplicates;
using Proxy.Routing.Parsers;
using Proxy.Routing.Telemetry;
using Proxy.Routing.Tests.Signatures;

namespace Proxy.Routing.Tests.Duplicates;

/// <summary>Which id each provider's webhook is known by, and what the check does with odd ids and a failing store.</summary>
public sealed class DuplicateSuppressionTests : IDisposable
{
    private static readonly RoutingIntent.ToRegions AnyIntent =
        new(new RoutingTarget.ExternalIntegration("github", "2"), RegionDelivery.Mailbox, "test");

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private IMeterFactory Meters => _services.GetRequiredService<IMeterFactory>();

    public void Dispose() => _services.Dispose();

    private static RoutingIntent.ToRegions Parsed(IIntegrationParser parser, string path, string body, IDictionary<string, string>? headers = null)
        => parser.Parse(Payloads.Request(path, Encoding.UTF8.GetBytes(body), "application/json", headers))
            .Should().BeOfType<RoutingIntent.ToRegions>().Subject;

    [Fact]
    public void Slack_events_are_known_by_event_id()
    {
        var intent = Parsed(new SlackParser(), "/extensions/slack/event/", Payloads.Text("slack", "event_message.json"));

        intent.DeliveryId.Should().Be("Ev0123456789");
    }

    [Fact]
    public void Discord_interactions_are_known_by_their_id()
    {
        var intent = Parsed(new DiscordParser(), "/extensions/discord/interactions/", Payloads.Text("discord", "command.json"));

        intent.DeliveryId.Should().Be("786008729715212338");
    }

    [Fact]
    public void Teams_activities_are_known_by_their_id()
    {
        var intent = Parsed(new MsTeamsParser(), "/extensions/msteams/webhook/", Payloads.Text("msteams", "message_in_team.json"));

        intent.DeliveryId.Should().Be("1485983408511");
    }

    [Theory]
    [InlineData("github", "X-GitHub-Delivery")]
    [InlineData("github_enterprise", "X-GitHub-Delivery")]
    [InlineData("gitlab", "X-Gitlab-Event-UUID")]
    [InlineData("jira", "X-Atlassian-Webhook-Identifier")]
    [InlineData("jira_server", "X-Atlassian-Webhook-Identifier")]
    [InlineData("gitea", "X-Gitea-Delivery")]
    public void Header_ids_are_read_by_provider(string provider, string header)
    {
        var webhook = Payloads.Request("/extensions/x/webhook/", [], "application/json", new Dictionary<string, string> { [header] = "id-1" });

        DuplicateSuppression.DeliveryIdOf(provider, AnyIntent, webhook).Should().Be("id-1");
        DuplicateSuppression.DeliveryIdOf("bitbucket", AnyIntent, webhook).Should().BeNull("bitbucket sends none of these");
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public async Task A_webhook_without_an_id_is_not_checked(string? id)
    {
        var store = new CountingStore();

        var check = await Suppression(store).ClaimAsync(Exchange("github", id), AnyIntent);

        check.IsDuplicate.Should().BeFalse();
        store.Claims.Should().Be(0);
    }

    [Fact]
    public async Task An_id_longer_than_the_bound_is_delivered_unchecked_and_one_at_the_bound_is_checked()
    {
        var store = new CountingStore();
        var suppression = Suppression(store);

        (await suppression.ClaimAsync(Exchange("github", new string('x', DuplicateSuppression.MaxIdLength + 1)), AnyIntent)).Token.Should().BeNull();
        store.Claims.Should().Be(0);
        (await suppression.ClaimAsync(Exchange("github", new string('x', DuplicateSuppression.MaxIdLength)), AnyIntent)).Token.Should().NotBeNull();
        store.Claims.Should().Be(1);
    }

    [Fact]
    public async Task A_store_that_throws_lets_the_webhook_through_and_is_counted_by_provider()
    {
        using var skipped = new MetricCollector<long>(Meters, RoutingMetrics.MeterName, "proxy.dedup.unchecked");
        var store = new CountingStore { Fail = true };

        var check = await Suppression(store).ClaimAsync(Exchange("github", "d1"), AnyIntent);

        check.IsDuplicate.Should().BeFalse();
        check.Token.Should().BeNull("there is no claim to release");
        var measurement = skipped.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        measurement.Tags["proxy.provider"].Should().Be("github");
        measurement.Tags["proxy.dedup.store"].Should().Be("counting");
    }

    [Fact]
    public async Task A_duplicate_is_counted_by_provider_and_with_Dedup_Enabled_false_nothing_is_checked()
    {
        using var duplicates = new MetricCollector<long>(Meters, RoutingMetrics.MeterName, "proxy.webhook.duplicates");
        var suppression = Suppression(new MemoryDeliveryIdStore(10, new FakeTimeProvider()));

        (await suppression.ClaimAsync(Exchange("gitlab", "u1"), AnyIntent)).IsDuplicate.Should().BeFalse();
        (await suppression.ClaimAsync(Exchange("gitlab", "u1"), AnyIntent)).IsDuplicate.Should().BeTrue();
        duplicates.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags["proxy.provider"].Should().Be("gitlab");

        var store = new CountingStore();
        (await Suppression(store, enabled: false).ClaimAsync(Exchange("gitlab", "u1"), AnyIntent)).IsDuplicate.Should().BeFalse();
        store.Claims.Should().Be(0);
    }

    private DuplicateSuppression Suppression(IDeliveryIdStore store, bool enabled = true)
        => new(store, new StaticOptionsMonitor<DuplicateOptions>(new DuplicateOptions { Enabled = enabled }), new RoutingMetrics(Meters),
            NullLogger<DuplicateSuppression>.Instance);

    private static WebhookExchange Exchange(string provider, string? id)
    {
        var headers = id is null ? null : new Dictionary<string, string> { ["X-GitHub-Delivery"] = id, ["X-Gitlab-Event-UUID"] = id };
        var webhook = Payloads.Request($"/extensions/{provider}/webhook/", [], "application/json", headers);
        return new WebhookExchange(new DefaultHttpContext(), webhook, provider, new RoutingOptions(), null, CancellationToken.None);
    }

    private sealed class CountingStore : IDeliveryIdStore
    {
        public int Claims { get; private set; }

        public bool Fail { get; init; }

        public string Kind => "counting";

        public ValueTask<DeliveryClaim> TryClaimAsync(string key, TimeSpan window, CancellationToken cancellationToken)
        {
            Claims++;
            return Fail ? throw new InvalidOperationException("store is broken") : ValueTask.FromResult(DeliveryClaim.NewClaim());
        }

        public ValueTask ReleaseAsync(string key, string token, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
