using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing;
using Proxy.Testing;

namespace Proxy.Mailbox.Tests;

public sealed class MailboxServiceCollectionTests(RedisServer redis) : IClassFixture<RedisServer>, IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    private IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Mailbox:DataDir"] = _directory.Path }.Concat(settings));
        builder.Services.AddReverseProxy().LoadFromMemory([], []).AddRegionRequests();
        builder.Services.AddWebhookMailbox(builder.Configuration);
        return builder.Build();
    }

    [Fact]
    public void Without_a_redis_connection_string_the_store_is_a_sqlite_file_in_the_data_folder()
    {
        using var host = Build([]);

        var store = host.Services.GetRequiredService<IMailboxStore>();

        store.Should().BeOfType<SqliteMailboxStore>().Which.FilePath.Should().Be(Path.Combine(_directory.Path, "mailbox.db"));
        host.Services.GetServices<IHostedService>().Should().Contain(s => s is MailboxDrainer).And.Contain(s => s is MailboxGaugeSampler);
        host.Services.GetRequiredService<IMailboxNamer>().Should().NotBeNull();
        host.Services.GetRequiredService<IMailboxSignal>().Should().BeSameAs(host.Services.GetRequiredService<MailboxSignal>());
    }

    [Theory]
    [InlineData("Mailbox:Redis:ConnectionString")]
    [InlineData("Redis:ConnectionString")]
    public void A_redis_connection_string_selects_the_redis_store(string key)
    {
        using var host = Build(new() { [key] = redis.ConnectionString });

        host.Services.GetRequiredService<IMailboxStore>().Should().BeOfType<RedisMailboxStore>();
        host.Services.GetRequiredService<IWebhookRateCounter>().Should().BeOfType<RedisWebhookRateCounter>();
    }

    [Fact]
    public void The_store_can_be_forced_to_sqlite_beside_a_shared_redis()
    {
        using var host = Build(new() { ["Redis:ConnectionString"] = redis.ConnectionString, ["Mailbox:Store"] = "Sqlite" });

        host.Services.GetRequiredService<IMailboxStore>().Should().BeOfType<SqliteMailboxStore>();
    }

    [Fact]
    public void The_drainer_can_be_switched_off()
    {
        using var host = Build(new() { ["Mailbox:DrainerEnabled"] = "false" });

        host.Services.GetServices<IHostedService>().Should().NotContain(s => s is MailboxDrainer);
    }

    [Fact]
    public void Lane_ordering_defaults_to_due_head_for_the_git_providers_and_can_be_set_per_provider()
    {
        using var defaults = Build([]);
        using var configured = Build(new() { ["Mailbox:Ordering:github"] = "Strict", ["Mailbox:Ordering:JIRA"] = "DueHead" });

        var shipped = defaults.Services.GetRequiredService<MailboxOrdering>();
        var changed = configured.Services.GetRequiredService<MailboxOrdering>();

        foreach (var mailbox in new[] { "github:1", "github_enterprise:h:1:5", "gitlab:i:g", "bitbucket:9", "bitbucket_server:9:1" })
        {
            shipped.OrderingOf(mailbox).Should().Be(MailboxLaneOrdering.DueHead, mailbox);
        }

        foreach (var mailbox in new[] { "jira:1", "vsts:1", "msteams:1", "plugins:1" })
        {
            shipped.OrderingOf(mailbox).Should().Be(MailboxLaneOrdering.Strict, mailbox);
        }

        changed.OrderingOf("github:1").Should().Be(MailboxLaneOrdering.Strict);
        changed.OrderingOf("gitlab:1").Should().Be(MailboxLaneOrdering.DueHead, "a provider not set keeps its default");
        changed.OrderingOf("jira:1").Should().Be(MailboxLaneOrdering.DueHead, "provider names are case-insensitive");
    }

    [Theory]
    [InlineData("Mailbox:Ordering:git hub", "Strict", "Mailbox:Ordering:git hub")]
    [InlineData("Mailbox:Ordering:github", "Fifo", "Mailbox:Ordering:github")]
    [InlineData("Mailbox:Ordering:gitlab", "1", "Mailbox:Ordering:gitlab")]
    [InlineData("Mailbox:Backoff:Rate", "0.5", "Mailbox:Backoff:Rate")]
    [InlineData("Mailbox:MaxAttempts", "0", "Mailbox:MaxAttempts")]
    [InlineData("Mailbox:MaxAge", "-1.00:00:00", "Mailbox:MaxAge")]
    [InlineData("Mailbox:LeaseSeconds", "10", "Mailbox:LeaseSeconds")]
    [InlineData("Mailbox:AcceptTimeout", "00:00:00", "Mailbox:AcceptTimeout")]
    [InlineData("Mailbox:AcceptTimeout", "00:05:00", "Mailbox:AcceptTimeout")]
    [InlineData("Mailbox:Redis:OperationTimeoutSeconds", "0", "Mailbox:Redis:OperationTimeoutSeconds")]
    [InlineData("Mailbox:Parallel:Workers", "0", "Mailbox:Parallel:Workers")]
    [InlineData("Mailbox:Redis:ConnectionString", "127.0.0.1:1,notAnOption=1", "Mailbox:Redis:ConnectionString")]
    [InlineData("Mailbox:Store", "Redis", "Mailbox:Store")]
    public async Task A_bad_setting_stops_the_start_with_an_error_naming_the_key(string key, string value, string named)
    {
        using var host = Build(new() { [key] = value });

        var start = () => host.StartAsync(TestContext.Current.CancellationToken);

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(named);
    }


}
