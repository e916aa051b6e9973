using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Draining;

/// <summary>An error on one lane (the store throws for that lane only) never stops the others; it is logged and counted.</summary>
public sealed class LaneErrorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("claim")]
    [InlineData("drain")]
    public async Task A_lane_whose_store_calls_throw_is_skipped_counted_and_the_other_lanes_are_delivered(string stage)
    {
        var broken = new MailboxLane("github:2", "us");
        var delivery = new ScriptedDelivery(TimeProvider.System);
        using var directory = new TempDirectory();
        using var harness = new DrainerHarness(delivery, store: time => new LaneFaultStore(
            new SqliteMailboxStore(Path.Combine(directory.Path, "mailbox.db"), SqliteDurability.Normal, time),
            broken, stage));
        using var errors = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.lane.errors");
        var healthy = new List<MailboxEntry>();
        for (var lane = 1; lane <= 3; lane++)
        {
            var entry = Entry($"github:{lane}", "us", Start);
            await harness.Store.AppendAsync([entry], Ct);
            if (entry.Lane != broken)
            {
                healthy.Add(entry);
            }
        }

        await harness.RunOnceAsync();

        delivery.Calls.Select(c => c.Entry.DeliveryId).Should().BeEquivalentTo(healthy.Select(e => e.DeliveryId));
        errors.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags.Should().Contain(
            [new("proxy.mailbox.stage", stage), new KeyValuePair<string, object?>("proxy.region", "us")]);
        (await harness.Store.ListMailboxesAsync(10, Ct)).Should().ContainSingle("the broken lane keeps its entry for a later pass")
            .Which.Lane.Should().Be(broken);
    }

    /// <summary>A real store whose calls for one lane throw, at claim time or once the lane is being drained.</summary>
    private sealed class LaneFaultStore(SqliteMailboxStore inner, MailboxLane broken, string stage) : IMailboxStore, IDisposable
    {
        private Task<T> Fail<T>(MailboxLane lane, string at, Func<Task<T>> call)
            => lane == broken && at == stage ? Task.FromException<T>(new InvalidOperationException($"lane {lane} is broken")) : call();

        public Task AppendAsync(IReadOnlyList<MailboxEntry> entries, CancellationToken cancellationToken = default) => inner.AppendAsync(entries, cancellationToken);

        public Task<IReadOnlyList<MailboxLane>> GetDueLanesAsync(int limit, CancellationToken cancellationToken = default) => inner.GetDueLanesAsync(limit, cancellationToken);

        public Task<MailboxLease?> TryClaimAsync(MailboxLane lane, TimeSpan duration, CancellationToken cancellationToken = default)
            => Fail(lane, "claim", () => inner.TryClaimAsync(lane, duration, cancellationToken));

        public Task<MailboxLease?> RenewAsync(MailboxLease lease, TimeSpan duration, CancellationToken cancellationToken = default) => inner.RenewAsync(lease, duration, cancellationToken);

        public Task ReleaseAsync(MailboxLease lease, CancellationToken cancellationToken = default) => inner.ReleaseAsync(lease, cancellationToken);

        public Task<IReadOnlyList<MailboxEntry>> PeekAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default)
            => Fail(lane, "drain", () => inner.PeekAsync(lane, count, cancellationToken));

        public Task<IReadOnlyList<MailboxEntry>> PeekDueAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default)
            => Fail(lane, "drain", () => inner.PeekDueAsync(lane, count, cancellationToken));

        public Task<MailboxLaneChange> RetryNowAsync(string mailbox, string? region, CancellationToken cancellationToken = default)
            => inner.RetryNowAsync(mailbox, region, cancellationToken);

        public Task<MailboxLaneChange> PurgeLanesAsync(string mailbox, string? region, CancellationToken cancellationToken = default)
            => inner.PurgeLanesAsync(mailbox, region, cancellationToken);

        public Task<bool> RescheduleAsync(MailboxLease lease, string deliveryId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default)
            => inner.RescheduleAsync(lease, deliveryId, nextAttemptAt, cancellationToken);

        public Task<bool> PostponeAsync(MailboxLease lease, string deliveryId, DateTimeOffset notBefore, CancellationToken cancellationToken = default)
            => inner.PostponeAsync(lease, deliveryId, notBefore, cancellationToken);

        public Task<bool> AckAsync(MailboxLane lane, string deliveryId, CancellationToken cancellationToken = default) => inner.AckAsync(lane, deliveryId, cancellationToken);

        public Task<bool> DeadLetterAsync(MailboxLane lane, string deliveryId, DeadLetterCause cause, CancellationToken cancellationToken = default)
            => inner.DeadLetterAsync(lane, deliveryId, cause, cancellationToken);

        public Task<IReadOnlyList<MailboxSummary>> ListMailboxesAsync(int limit, CancellationToken cancellationToken = default) => inner.ListMailboxesAsync(limit, cancellationToken);

        public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string? mailbox, int limit, CancellationToken cancellationToken = default)
            => inner.ListDeadLettersAsync(mailbox, limit, cancellationToken);

        public Task<bool> ReplayDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default) => inner.ReplayDeadLetterAsync(deliveryId, cancellationToken);

        public Task<bool> PurgeDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default) => inner.PurgeDeadLetterAsync(deliveryId, cancellationToken);

        public Task<MailboxStats> GetStatsAsync(CancellationToken cancellationToken = default) => inner.GetStatsAsync(cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
