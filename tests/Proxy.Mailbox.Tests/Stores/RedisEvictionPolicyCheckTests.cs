using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Proxy.Routing;
using Proxy.Testing;

namespace Proxy.Mailbox.Tests.Stores;

/// <summary>The host with the Redis mailbox, started against real redis-servers with different eviction policies.</summary>
public sealed class RedisEvictionPolicyCheckTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IHost Build(RedisServer redis, bool allowEviction = false)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddFakeLogging();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mailbox:Redis:ConnectionString"] = redis.ConnectionString,
            ["Mailbox:Redis:AllowEviction"] = allowEviction ? "true" : "false",
            ["Mailbox:DrainerEnabled"] = "false",
        });
        builder.Services.AddReverseProxy().LoadFromMemory([], []).AddRegionRequests();
        builder.Services.AddWebhookMailbox(builder.Configuration);
        return builder.Build();
    }

    private static IEnumerable<string> Warnings(IHost host) =>
        host.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Category == typeof(RedisEvictionPolicyCheck).FullName).Select(r => r.Message);

    [Fact]
    public async Task The_redis_mailbox_refuses_to_start_on_a_redis_that_evicts()
    {
        await using var redis = new RedisServer { ExtraArguments = "--maxmemory-policy allkeys-lru" };
        await redis.InitializeAsync();
        using var host = Build(redis);

        var start = () => host.StartAsync(Ct);

        (await start.Should().ThrowAsync<InvalidOperationException>())
            .Which.Message.Should().Contain("maxmemory-policy allkeys-lru").And.Contain("Mailbox:Redis:AllowEviction");
    }

    [Fact]
    public async Task AllowEviction_starts_it_anyway_with_a_warning()
    {
        await using var redis = new RedisServer { ExtraArguments = "--maxmemory-policy allkeys-lru" };
        await redis.InitializeAsync();
        using var host = Build(redis, allowEviction: true);

        await host.StartAsync(Ct);
        await host.StopAsync(Ct);

        Warnings(host).Should().ContainSingle().Which.Should().Contain("allkeys-lru");
    }

    [Fact]
    public async Task A_noeviction_redis_starts_without_a_warning()
    {
        await using var redis = new RedisServer { ExtraArguments = "--maxmemory-policy noeviction" };
        await redis.InitializeAsync();
        using var host = Build(redis);

        await host.StartAsync(Ct);
        await host.StopAsync(Ct);

        Warnings(host).Should().BeEmpty();
    }

    [Fact]
    public async Task A_managed_redis_with_config_renamed_is_still_checked_through_info()
    {
        await using var redis = new RedisServer { ExtraArguments = "--maxmemory-policy volatile-lru --rename-command CONFIG \"\"" };
        await redis.InitializeAsync();
        using var host = Build(redis);

        var start = () => host.StartAsync(Ct);

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("volatile-lru");
    }

    [Fact]
    public async Task When_neither_info_nor_config_answers_it_warns_and_starts()
    {
        await using var redis = new RedisServer { ExtraArguments = "--maxmemory-policy allkeys-lru --rename-command CONFIG \"\" --rename-command INFO \"\"" };
        await redis.InitializeAsync();
        using var host = Build(redis);

        await host.StartAsync(Ct);
        await host.StopAsync(Ct);

        Warnings(host).Should().ContainSingle().Which.Should().Contain("Could not read the maxmemory-policy");
    }
}
