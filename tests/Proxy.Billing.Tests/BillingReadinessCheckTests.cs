using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Proxy.Billing.Tests.Support;
using Proxy.Testing;

namespace Proxy.Billing.Tests;

/// <summary>
/// The billing readiness check against real inputs: librdkafka's mock cluster (a cluster of the test's own, so its
/// broker can be taken away) and a redis-server of the test's own that is killed. Not ready is Degraded, the
/// failure status the consumer registers the check with (the proxy stays ready; see docs/BILLING.md).
/// </summary>
[Collection(KafkaTests.Name)]
public sealed class BillingReadinessCheckTests(RedisServer redis)
{
    [Fact]
    internal async Task Kafka_is_ready_once_the_consumer_has_joined_its_group_and_not_when_the_broker_is_gone()
    {
        var cluster = new KafkaMockCluster();
        try
        {
            var kafka = new KafkaBilling(cluster.BootstrapServers, redis);
            foreach (var (topic, partitions) in kafka.Topics)
            {
                cluster.CreateTopic(topic, partitions);
            }

            using var host = kafka.BuildHost();
            var before = await CheckAsync(host);
            before.Status.Should().Be(HealthStatus.Degraded, "the consumer has not started");
            before.Description.Should().Be("the consumer has not joined its group (no partition assigned)");
            before.Data["kafka.brokers"].Should().Be(1, "the broker answers; only the group is missing");

            await host.StartAsync();
            await Eventually.HoldsAsync(async () => (await CheckAsync(host)).Status == HealthStatus.Healthy, "the consumer joins its group");
            var joined = await CheckAsync(host);
            joined.Description.Should().Be("consuming from kafka");
            joined.Data["kafka.assigned"].Should().Be(true);
            joined.Data["kafka.partitions"].Should().Be(KafkaBilling.InputPartitions);
            joined.Data["messaging.destination.name"].Should().Be(kafka.InputTopic);
            joined.Data["messaging.consumer.group.name"].Should().Be(kafka.Settings["Billing:Kafka:GroupId"]);

            cluster.Dispose();
            await Eventually.HoldsAsync(async () => (await CheckAsync(host)).Status != HealthStatus.Healthy, "the check sees the broker gone");
            var gone = await CheckAsync(host);
            gone.Status.Should().Be(HealthStatus.Degraded);
            gone.Description.Should().StartWith("no Kafka broker answers");
            await host.StopAsync();
        }
        finally
        {
            cluster.Dispose();
        }
    }

    [Fact]
    internal async Task Kafka_with_no_broker_at_its_address_is_not_ready()
    {
        using var refused = new RefusedPort();
        using var host = new KafkaBilling($"127.0.0.1:{refused.Port}", redis).BuildHost();

        var result = await CheckAsync(host);

        result.Status.Should().Be(HealthStatus.Degraded);
        result.Description.Should().StartWith("no Kafka broker answers");
    }

    [Fact]
    internal async Task Redis_is_ready_once_the_group_is_joined_not_while_Redis_is_stopped_and_again_when_it_is_back()
    {
        await using var server = new RestartableRedis();
        await server.StartAsync();
        var settings = BillingHarness.Settings(server.ConnectionString, "{billing-ready-" + Guid.NewGuid().ToString("N")[..6] + "}");
        settings["Logging:LogLevel:Default"] = "Warning";
        settings["Billing:MaxRetryDelay"] = "00:00:00.500";
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddBillingConsumer(builder.Configuration);
        using var host = builder.Build();

        var before = await CheckAsync(host);
        before.Status.Should().Be(HealthStatus.Degraded, "the consumer has not started");
        before.Description.Should().Be("the consumer has not joined its group on Redis yet");

        await host.StartAsync();
        await Eventually.HoldsAsync(async () => (await CheckAsync(host)).Status == HealthStatus.Healthy, "the consumer joins its group");
        (await CheckAsync(host)).Description.Should().Be("consuming from redis");

        await server.KillAsync();
        var stopped = await CheckAsync(host);
        stopped.Status.Should().Be(HealthStatus.Degraded);
        stopped.Description.Should().Be("the billing Redis does not answer");
        stopped.Exception.Should().NotBeNull();

        await server.StartAsync();
        await Eventually.HoldsAsync(async () => (await CheckAsync(host)).Status == HealthStatus.Healthy, "ready again once Redis is back");
        await host.StopAsync();
    }

    [Fact]
    internal void The_check_is_part_of_readyz_and_has_a_tag_of_its_own()
    {
        var services = new ServiceCollection();
        services.AddBillingConsumer(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Billing:Enabled"] = "true",
            ["Billing:Redis:ConnectionString"] = "x",
        }).Build());

        var registration = services.BuildServiceProvider().GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>()
            .Value.Registrations.Single(r => r.Name == BillingReadinessCheck.Name);

        registration.Tags.Should().BeEquivalentTo(["ready", "billing"]);
        registration.FailureStatus.Should().Be(HealthStatus.Degraded, "a billing outage must not take the proxy out of rotation");
    }

    private static async Task<HealthReportEntry> CheckAsync(IHost host)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>()
            .CheckHealthAsync(r => r.Name == BillingReadinessCheck.Name);
        return report.Entries[BillingReadinessCheck.Name];
    }
}
