using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proxy.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Bucketing;

public sealed class MailboxNamerTests(RedisServer redis) : IClassFixture<RedisServer>, IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly MailboxOptions _options = new() { Bucketing = { ThresholdPerHour = 3 } };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _services.Dispose();

    private MailboxNamer Namer(IWebhookRateCounter counter) => new(counter, new MailboxMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), _time),
        new FixedOptionsMonitor<MailboxOptions>(_options), _time, NullLogger<MailboxNamer>.Instance);

    private static async Task<List<string>> NameAsync(MailboxNamer namer, int count, long? bucketId = 1234)
    {
        var names = new List<string>();
        for (var i = 0; i < count; i++)
        {
            names.Add(await namer.MailboxForAsync("github", "42", bucketId, Ct));
        }

        return names;
    }

    [Fact]
    public async Task An_integration_is_bucketed_once_it_passes_the_hourly_threshold()
    {
        var namer = Namer(new MemoryWebhookRateCounter());

        var names = await NameAsync(namer, 5);

        names.Should().Equal("github:42", "github:42", "github:42", "github:42:34", "github:42:34");
        (await namer.MailboxForAsync("github", "43", 1234, Ct)).Should().Be("github:43", "other integrations are counted apart");
        (await namer.MailboxForAsync("github", "42", null, Ct)).Should().Be("github:42", "without a bucket id there is no bucket");
        (await namer.MailboxForAsync("github", "42", -7, Ct)).Should().Be("github:42:7");
    }

    [Fact]
    public async Task Bucketing_stays_on_for_the_duration_after_the_last_busy_hour_then_stops()
    {
        var namer = Namer(new MemoryWebhookRateCounter());
        await NameAsync(namer, 4);

        _time.Advance(TimeSpan.FromHours(23));
        (await namer.MailboxForAsync("github", "42", 5, Ct)).Should().Be("github:42:5", "a quiet hour does not end it");

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        (await namer.MailboxForAsync("github", "42", 5, Ct)).Should().Be("github:42");
    }

    [Fact]
    public async Task Replicas_share_the_count_through_redis()
    {
        var prefix = "n" + Guid.NewGuid().ToString("N")[..12];
        var first = Namer(new RedisWebhookRateCounter(redis.Connection!, prefix));
        var second = Namer(new RedisWebhookRateCounter(redis.Connection!, prefix));

        await NameAsync(first, 2);
        await NameAsync(second, 1);
        var fourth = await first.MailboxForAsync("github", "42", 1234, Ct);
        var fifth = await second.MailboxForAsync("github", "42", 1234, Ct);

        fourth.Should().Be("github:42:34");
        fifth.Should().Be("github:42:34", "the flag is shared too");
    }

    [Fact]
    public async Task Concurrent_counts_of_two_replicas_go_in_shared_calls_and_each_is_counted_exactly_once()
    {
        var prefix = "c" + Guid.NewGuid().ToString("N")[..12];
        var counters = new[] { new RedisWebhookRateCounter(redis.Connection!, prefix), new RedisWebhookRateCounter(redis.Connection!, prefix) };
        var options = new MailboxBucketingOptions { ThresholdPerHour = 50 };

        // 100 webhooks of one integration at once, half through each replica.
        var counts = Enumerable.Range(0, 100).Select(i => counters[i % 2].CountAsync("github:42", Start, options, Ct).AsTask()).ToArray();
        var bucketed = await Task.WhenAll(counts);

        bucketed.Count(b => !b).Should().Be(50, "the first 50 counts are within the threshold, whichever call carried them");
        bucketed.Count(b => b).Should().Be(50, "every later one passed it");
        (await counters[0].CountAsync("github:42", Start, options, Ct)).Should().BeTrue("the flag is shared");
        (counters[0].Calls + counters[1].Calls).Should().BeLessThan(50, "counts queued while a call is out go together in the next one");
    }

    [Fact]
    public async Task A_counter_that_is_unreachable_leaves_the_name_unbucketed()
    {
        using var refused = new RefusedPort();
        using var unreachable = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{refused.Port},abortConnect=false,connectTimeout=200,asyncTimeout=300");
        var namer = Namer(new RedisWebhookRateCounter(unreachable, "x"));

        (await namer.MailboxForAsync("github", "42", 9, Ct)).Should().Be("github:42");
    }

    [Fact]
    public async Task Each_name_is_counted_by_provider_and_whether_it_was_bucketed()
    {
        using var routing = new MetricCollector<long>(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), MailboxTelemetry.MeterName, "mailbox.routing");
        var namer = Namer(new MemoryWebhookRateCounter());

        await NameAsync(namer, 4);

        routing.GetMeasurementSnapshot().Select(m => (m.Tags["proxy.provider"], m.Tags["proxy.mailbox.bucketed"]))
            .Should().Equal(("github", false), ("github", false), ("github", false), ("github", true));
    }
}
