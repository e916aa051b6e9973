using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Proxy.Billing.Transport;

namespace Proxy.Billing.Tests;

public sealed class BillingRegistrationTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("false")]
    internal void Registers_nothing_unless_enabled(string? enabled)
    {
        var services = new ServiceCollection();

        services.AddBillingConsumer(Configuration(new() { ["Billing:Enabled"] = enabled, ["Billing:Redis:ConnectionString"] = "x" }));

        services.Should().BeEmpty();
    }

    [Fact]
    internal void Registers_the_hosted_service_when_enabled()
    {
        var services = new ServiceCollection();

        services.AddBillingConsumer(Configuration(new() { ["Billing:Enabled"] = "true", ["Billing:Redis:ConnectionString"] = "x" }));

        services.Should().Contain(d => d.ServiceType == typeof(IHostedService));
    }

    [Fact]
    internal void Binds_every_setting()
    {
        var options = Options(new()
        {
            ["Billing:Enabled"] = "true",
            ["Billing:Transport"] = "Kafka",
            ["Billing:BatchSize"] = "7",
            ["Billing:Redis:ConnectionString"] = "redis:6379",
            ["Billing:Kafka:BootstrapServers"] = "kafka:9092",
            ["Billing:Kafka:InputTopic"] = "in",
            ["Billing:Kafka:Producer:compression.type"] = "lz4",
            ["Billing:Flags:ProjectCacheTtl"] = "00:01:00",
        });

        options.Transport.Should().Be(BillingTransportKind.Kafka);
        options.BatchSize.Should().Be(7);
        options.Kafka.InputTopic.Should().Be("in");
        options.Kafka.Producer.Should().Contain("compression.type", "lz4");
        options.Flags.ProjectCacheTtl.Should().Be(TimeSpan.FromMinutes(1));
        options.Redis.BillingOutcomesStream.Should().Be("{billing}:outcomes-billing");
        options.Flags.FlagUpdatedTtl.Should().Be(TimeSpan.FromDays(7));
    }

    [Theory]
    [InlineData("Billing:Redis:ConnectionString", "", "Billing:Redis:ConnectionString is required.")]
    [InlineData("Billing:BatchSize", "0", "Billing:BatchSize must be between 1 and 10000.")]
    [InlineData("Billing:MaxBatchWait", "00:00:00", "Billing:MaxBatchWait must be a positive duration.")]
    [InlineData("Billing:Redis:OutcomesStream", "outcomes", "Billing:Redis stream names")]
    [InlineData("Billing:Redis:ClaimMinIdle", "-00:00:01", "Billing:Redis:ClaimMinIdle must be a positive duration.")]
    [InlineData("Billing:Flags:FlagUpdatedTtl", "00:00:00", "Billing:Flags:FlagUpdatedTtl must be a positive duration.")]
    [InlineData("Billing:Flags:Store", "Http", "Billing:Flags:HttpBaseAddress must be an absolute http(s) address")]
    internal void A_bad_value_fails_at_start_naming_its_key(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?> { ["Billing:Enabled"] = "true", ["Billing:Redis:ConnectionString"] = "x", [key] = value };

        var act = () => Options(settings);

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(message);
    }

    [Fact]
    internal void Kafka_needs_its_bootstrap_servers()
    {
        var act = () => Options(new() { ["Billing:Enabled"] = "true", ["Billing:Transport"] = "Kafka", ["Billing:Redis:ConnectionString"] = "x" });

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Billing:Kafka:BootstrapServers is required.");
    }

    [Fact]
    internal async Task The_transport_follows_the_setting()
    {
        await using var provider = Provider(new()
        {
            ["Billing:Enabled"] = "true",
            ["Billing:Transport"] = "Kafka",
            ["Billing:Redis:ConnectionString"] = "x",
            ["Billing:Kafka:BootstrapServers"] = "127.0.0.1:1",
        });

        provider.GetRequiredService<IBillingTransport>().System.Should().Be("kafka");
    }

    [Theory]
    [InlineData("{billing}:a", "billing")]
    [InlineData("x{tag}y", "tag")]
    [InlineData("{}x", "{}x")]
    [InlineData("plain", "plain")]
    internal void Finds_the_redis_cluster_hash_tag(string key, string tag)
    {
        BillingOptionsValidator.HashTag(key).Should().Be(tag);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static ServiceProvider Provider(Dictionary<string, string?> settings) =>
        new ServiceCollection().AddLogging().AddBillingConsumer(Configuration(settings)).BuildServiceProvider();

    private static BillingOptions Options(Dictionary<string, string?> settings)
    {
        using var provider = Provider(settings);
        return provider.GetRequiredService<IOptions<BillingOptions>>().Value;
    }
}
