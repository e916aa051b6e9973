using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proxy.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Draining;

/// <summary>The drainer with the real HTTP delivery, against a region on real Kestrel.</summary>
public sealed class DrainerOverHttpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_region_that_fails_three_times_then_recovers_gets_every_entry_in_order_once()
    {
        await using var region = await SiloStub.StartAsync("us");
        region.Answer = (_, call) => new StubAnswer(call <= 3 ? 503 : 200);
        using var regions = new TestRegionClusters().Add("us", region.Address);
        var time = new FakeTimeProvider(Start);
        var options = new MailboxOptions();
        var delivery = new HttpMailboxDelivery(regions.Builder, new FixedOptionsMonitor<MailboxOptions>(options), time, NullLogger<HttpMailboxDelivery>.Instance);
        using var harness = new DrainerHarness(delivery, time: time);
        var entries = new List<MailboxEntry>();
        for (var i = 0; i < 5; i++)
        {
            var entry = Entry("github:1", "us", Start, body: $"{{\"n\":{i}}}");
            await harness.Store.AppendAsync([entry], Ct);
            entries.Add(entry);
        }

        await harness.RunOnceAsync();
        foreach (var backoff in new[] { 4.2, 5.88, 8.232 })
        {
            time.Advance(TimeSpan.FromMinutes(backoff));
            await harness.RunOnceAsync();
        }

        var requests = region.Requests;
        var ids = requests.Select(r => r.Header(MailboxHeaders.DeliveryId)).ToList();
        ids.Should().Equal([.. Enumerable.Repeat(entries[0].DeliveryId, 4), .. entries.Skip(1).Select(e => e.DeliveryId)],
            "the failing head blocks the lane, then everything follows in order, nothing skipped, nothing twice");
        requests.Select(r => r.Header(MailboxHeaders.DeliveryAttempt)).Should().Equal("1", "2", "3", "4", "1", "1", "1", "1");
        requests.Select(r => System.Text.Encoding.UTF8.GetString(r.Body)).Should().Equal(
            [.. Enumerable.Repeat("{\"n\":0}", 4), "{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"]);
        (await harness.Store.GetStatsAsync(Ct)).Should().Be(new MailboxStats(0, 0, null));

        time.Advance(TimeSpan.FromHours(2));
        await harness.RunOnceAsync();
        region.Requests.Should().HaveCount(8, "nothing is sent again after success");
    }
}
