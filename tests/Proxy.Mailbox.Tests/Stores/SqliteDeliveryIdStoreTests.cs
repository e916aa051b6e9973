using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Proxy.Routing;
using Proxy.Routing.Duplicates;
using Proxy.Testing;

namespace Proxy.Mailbox.Tests.Stores;

/// <summary>The embedded store of delivery ids (a SQLite file of its own) on a fake clock, and which store a host picks.</summary>
public sealed class SqliteDeliveryIdStoreTests(RedisServer redis) : IClassFixture<RedisServer>, IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string FilePath => Path.Combine(_directory.Path, "data", SqliteDeliveryIdStore.FileName);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_claim_holds_for_the_window_then_the_id_is_free_again()
    {
        using var store = new SqliteDeliveryIdStore(FilePath, _time);

        var first = await store.TryClaimAsync("github:d1", Window, Ct);
        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        var within = await store.TryClaimAsync("github:d1", Window, Ct);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var after = await store.TryClaimAsync("github:d1", Window, Ct);

        first.Outcome.Should().Be(ClaimOutcome.Claimed);
        within.Outcome.Should().Be(ClaimOutcome.Duplicate);
        after.Outcome.Should().Be(ClaimOutcome.Claimed);
        after.Token.Should().NotBe(first.Token);
    }

    [Fact]
    public async Task Claims_survive_a_restart_and_a_release_needs_the_claims_own_token()
    {
        string token;
        using (var store = new SqliteDeliveryIdStore(FilePath, _time))
        {
            token = (await store.TryClaimAsync("slack:Ev1", Window, Ct)).Token!;
            await store.ReleaseAsync("slack:Ev1", "someone-else", Ct);
        }

        using var reopened = new SqliteDeliveryIdStore(FilePath, _time);
        (await reopened.TryClaimAsync("slack:Ev1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Duplicate);
        await reopened.ReleaseAsync("slack:Ev1", token, Ct);
        (await reopened.TryClaimAsync("slack:Ev1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Claimed);
    }

    [Fact]
    public async Task Expired_ids_are_purged_as_claims_go_by()
    {
        using var store = new SqliteDeliveryIdStore(FilePath, _time);
        for (var i = 0; i < 1000; i++)
        {
            await store.TryClaimAsync($"gitlab:{i}", Window, Ct);
        }

        _time.Advance(Window);
        for (var i = 0; i < 100; i++)
        {
            await store.TryClaimAsync($"gitlab:new-{i}", Window, Ct);
        }

        Rows().Should().BeLessThan(200, "the 1000 expired ids were purged");
    }

    [Theory]
    [InlineData("", "sqlite")]
    [InlineData("Mailbox:Store=Redis", "memory")]
    [InlineData("Redis:ConnectionString", "redis")]
    public void A_host_keeps_ids_in_Redis_when_the_routing_has_it_else_in_the_embedded_file_else_in_memory(string setting, string kind)
    {
        var settings = new Dictionary<string, string?> { ["Mailbox:DataDir"] = Path.Combine(_directory.Path, "host"), ["Mailbox:DrainerEnabled"] = "false" };
        if (setting == "Redis:ConnectionString")
        {
            settings[setting] = redis.ConnectionString;
        }
        else if (setting.Length > 0)
        {
            settings["Mailbox:Store"] = "Redis";
            settings["Mailbox:Redis:ConnectionString"] = redis.ConnectionString;
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddReverseProxy().LoadFromMemory([], []).AddIntegrationRouting(builder.Configuration);
        builder.Services.AddWebhookMailbox(builder.Configuration);
        using var host = builder.Build();

        var store = host.Services.GetRequiredService<IDeliveryIdStore>();

        store.Kind.Should().Be(kind);
        if (store is SqliteDeliveryIdStore sqlite)
        {
            sqlite.FilePath.Should().Be(Path.Combine(_directory.Path, "host", SqliteDeliveryIdStore.FileName));
        }
    }

    private long Rows()
    {
        using var connection = new SqliteConnection($"Data Source={FilePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM delivery_ids";
        return (long)command.ExecuteScalar()!;
    }
}
