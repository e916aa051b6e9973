using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Draining;

/// <summary>The drainer's rules, driven pass by pass on fake time with a scripted delivery over a real SQLite store.</summary>
public sealed class MailboxDrainerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_lane_is_delivered_in_order_and_emptied()
    {
        var delivery = new ScriptedDelivery(TimeProvider.System);
        using var harness = new DrainerHarness(delivery);
        var entries = await AppendAsync(harness, Enumerable.Range(0, 5).Select(_ => Entry("github:1", "us", Start)));

        await harness.RunOnceAsync();

        delivery.Calls.Select(c => c.Entry.DeliveryId).Should().Equal(entries.Select(e => e.DeliveryId));
        delivery.Calls.Should().OnlyContain(c => c.Entry.Attempts == 1);
        (await harness.Store.GetStatsAsync(Ct)).Pending.Should().Be(0);
        (await harness.Store.ListMailboxesAsync(10, Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_failing_head_is_retried_on_the_backoff_schedule_then_dead_lettered_after_the_last_attempt()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start);
        var delivery = new ScriptedDelivery(time, (_, _) => Task.FromResult(DeliveryResult.Answered(503)));
        using var failing = new DrainerHarness(delivery, time: time);
        var entry = (await AppendAsync(failing, [Entry("github:1", "us", Start)])).Single();
        double[] expectedGaps = [4.2, 5.88, 8.232, 11.5248, 16.13472, 22.588608, 31.6240512, 44.27367168, 60];

        await failing.RunOnceAsync();
        foreach (var gap in expectedGaps)
        {
            failing.Time.Advance(TimeSpan.FromMinutes(gap) - TimeSpan.FromSeconds(1));
            var before = delivery.Calls.Count;
            await failing.RunOnceAsync();
            delivery.Calls.Should().HaveCount(before, $"nothing is sent before the {gap}-minute backoff is over");
            failing.Time.Advance(TimeSpan.FromSeconds(1));
            await failing.RunOnceAsync();
            delivery.Calls.Should().HaveCount(before + 1, $"the attempt after a {gap}-minute backoff goes out on time");
        }

        var calls = delivery.Calls.ToList();
        calls.Select(c => c.Entry.Attempts).Should().Equal(Enumerable.Range(1, 10));
        var gaps = calls.Zip(calls.Skip(1), (a, b) => (b.At - a.At).TotalMinutes).ToList();
        gaps.Should().HaveCount(expectedGaps.Length);
        for (var i = 0; i < gaps.Count; i++)
        {
            gaps[i].Should().BeApproximately(expectedGaps[i], 1e-4, "delays are kept to the millisecond");
        }

        (await failing.Store.PeekAsync(entry.Lane, 10, Ct)).Should().BeEmpty();
        var dead = (await failing.Store.ListDeadLettersAsync(null, 10, Ct)).Single();
        dead.Cause.Should().Be(new DeadLetterCause("attempts_exceeded", 503, null));
        dead.Entry.Attempts.Should().Be(10);
    }

    [Fact]
    public async Task The_attempt_is_counted_once_the_send_got_its_result_not_before()
    {
        MailboxEntry? seenDuringSend = null;
        IMailboxStore? store = null;
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start);
        var delivery = new ScriptedDelivery(time);
        using var harness = new DrainerHarness(delivery, time: time);
        store = harness.Store;
        delivery.Answer = async (entry, _) =>
        {
            seenDuringSend = (await store.PeekAsync(entry.Lane, 1, Ct)).Single();
            return DeliveryResult.Answered(503);
        };
        var appended = (await AppendAsync(harness, [Entry("github:1", "us", Start)])).Single();

        await harness.RunOnceAsync();

        delivery.Calls.Single().Entry.Attempts.Should().Be(1, "the send carries the number of its attempt");
        seenDuringSend!.Attempts.Should().Be(0, "a send that never gets its result (shutdown, store outage) must cost nothing");
        seenDuringSend.NextAttemptAt.Should().Be(appended.NextAttemptAt);
        var after = (await harness.Store.PeekAsync(appended.Lane, 1, Ct)).Single();
        after.Attempts.Should().Be(1);
        after.NextAttemptAt.Should().Be(Start.AddMinutes(4.2));
    }

    [Fact]
    public async Task A_failing_head_blocks_only_its_own_lane()
    {
        var delivery = new ScriptedDelivery(TimeProvider.System, (entry, _) =>
            Task.FromResult(DeliveryResult.Answered(entry.Mailbox == "github:1" && entry.Region == "us" ? 500 : 200)));
        using var harness = new DrainerHarness(delivery);
        var first = await AppendAsync(harness, [Entry("github:1", "us", Start), Entry("github:1", "de", Start)]);
        var second = await AppendAsync(harness, [Entry("github:1", "us", Start), Entry("github:1", "de", Start)]);
        var other = await AppendAsync(harness, [Entry("jira:2", "us", Start)]);

        await harness.RunOnceAsync();

        var sent = delivery.Calls.Select(c => c.Entry.DeliveryId).ToList();
        sent.Should().Contain(first[0].DeliveryId).And.NotContain(second[0].DeliveryId, "head-of-line blocking keeps the order");
        sent.Should().Contain([first[1].DeliveryId, second[1].DeliveryId, other[0].DeliveryId]);
        (await harness.Store.PeekAsync(first[0].Lane, 10, Ct)).Select(e => e.DeliveryId).Should().Equal(first[0].DeliveryId, second[0].DeliveryId);
    }

    [Theory]
    [InlineData(400, "bad_request")]
    [InlineData(401, "unauthorized")]
    [InlineData(403, "forbidden")]
    [InlineData(404, "not_found")]
    [InlineData(409, "conflict")]
    public async Task Drop_statuses_dead_letter_the_entry_at_once_and_the_lane_moves_on(int status, string reason)
    {
        var delivery = new ScriptedDelivery(TimeProvider.System, (_, call) => Task.FromResult(DeliveryResult.Answered(call == 1 ? status : 202)));
        using var harness = new DrainerHarness(delivery);
        using var deliveries = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.deliveries");
        using var failures = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.delivery.failures");
        var entries = await AppendAsync(harness, [Entry("github:1", "us", Start)]);
        entries = [.. entries, .. await AppendAsync(harness, [Entry("github:1", "us", Start)])];

        await harness.RunOnceAsync();

        delivery.Calls.Select(c => c.Entry.DeliveryId).Should().Equal(entries.Select(e => e.DeliveryId));
        var dead = (await harness.Store.ListDeadLettersAsync(null, 10, Ct)).Single();
        dead.Entry.DeliveryId.Should().Be(entries[0].DeliveryId);
        dead.Cause.Should().Be(new DeadLetterCause(reason, status, null));
        deliveries.GetMeasurementSnapshot().Select(m => m.Tags["proxy.outcome"]).Should().Equal("dropped", "ok");
        failures.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags.Should().Contain(
            [new KeyValuePair<string, object?>("error.type", reason), new KeyValuePair<string, object?>("proxy.region", "us")]);
    }

    [Theory]
    [InlineData(500, nameof(DeliveryError.None), "server_error")]
    [InlineData(503, nameof(DeliveryError.None), "server_error")]
    [InlineData(429, nameof(DeliveryError.None), "api_error")]
    [InlineData(410, nameof(DeliveryError.None), "api_error")]
    [InlineData(null, nameof(DeliveryError.Timeout), "timeout")]
    [InlineData(null, nameof(DeliveryError.Connection), "host_error")]
    [InlineData(null, nameof(DeliveryError.UnknownRegion), "unknown_region")]
    [InlineData(null, nameof(DeliveryError.Other), "api_error")]
    public async Task Other_failures_are_retried_with_backoff(int? status, string errorName, string reason)
    {
        var error = Enum.Parse<DeliveryError>(errorName);
        var delivery = new ScriptedDelivery(TimeProvider.System, (_, _) => Task.FromResult(new DeliveryResult(status, error)));
        using var harness = new DrainerHarness(delivery);
        using var failures = new MetricCollector<long>(harness.MeterFactory, MailboxTelemetry.MeterName, "mailbox.delivery.failures");
        var entry = (await AppendAsync(harness, [Entry("github:1", "us", Start)])).Single();

        await harness.RunOnceAsync();

        var stored = (await harness.Store.PeekAsync(entry.Lane, 1, Ct)).Single();
        stored.Attempts.Should().Be(1);
        stored.NextAttemptAt.Should().Be(Start.AddMinutes(4.2));
        failures.LastMeasurement!.Tags["error.type"].Should().Be(reason);
        (await harness.Store.ListDeadLettersAsync(null, 10, Ct)).Should().BeEmpty();
    }

    [Theory]
    [InlineData(30, 30)]
    [InlineData(1, 4.2)]
    [InlineData(600, 60)]
    public async Task Retry_after_pushes_the_next_attempt_to_the_later_of_it_and_the_backoff_within_the_cap(double retryAfterMinutes, double expectedMinutes)
    {
        var delivery = new ScriptedDelivery(TimeProvider.System, (_, _) =>
            Task.FromResult(DeliveryResult.Answered(503, TimeSpan.FromMinutes(retryAfterMinutes))));
        using var harness = new DrainerHarness(delivery);
        var entry = (await AppendAsync(harness, [Entry("github:1", "us", Start)])).Single();

        await harness.RunOnceAsync();

        (await harness.Store.PeekAsync(entry.Lane, 1, Ct)).Single().NextAttemptAt.Should().Be(Start.AddMinutes(expectedMinutes));
        harness.Time.Advance(TimeSpan.FromMinutes(expectedMinutes) - TimeSpan.FromSeconds(1));
        await harness.RunOnceAsync();
        delivery.Calls.Should().HaveCount(1);
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        await harness.RunOnceAsync();
        delivery.Calls.Should().HaveCount(2);
    }

    [Fact]
    public async Task An_entry_older_than_the_max_age_is_dead_lettered_without_a_send()
    {
        var delivery = new ScriptedDelivery(TimeProvider.System);
        using var harness = new DrainerHarness(delivery);
        var old = (await AppendAsync(harness, [Entry("github:1", "us", Start.AddDays(-3).AddMinutes(-1))])).Single();
        var fresh = (await AppendAsync(harness, [Entry("github:1", "us", Start)])).Single();

        await harness.RunOnceAsync();

        delivery.Calls.Select(c => c.Entry.DeliveryId).Should().Equal(fresh.DeliveryId);
        (await harness.Store.ListDeadLettersAsync(null, 10, Ct)).Single().Should().Match<DeadLetter>(d =>
            d.Entry.DeliveryId == old.DeliveryId && d.Cause.Reason == "max_age");
    }

    [Fact]
    public async Task An_entry_whose_attempts_ran_out_elsewhere_is_dead_lettered_at_the_next_pick()
    {
        var delivery = new ScriptedDelivery(TimeProvider.System);
        using var harness = new DrainerHarness(delivery);
        await AppendAsync(harness, [Entry("github:1", "us", Start) with { Attempts = 10 }]);

        await harness.RunOnceAsync();

        delivery.Calls.Should().BeEmpty();
        (await harness.Store.ListDeadLettersAsync(null, 10, Ct)).Single().Cause.Reason.Should().Be("attempts_exceeded");
    }

    [Fact]
    public async Task A_long_lane_is_given_back_after_its_share_of_deliveries()
    {
        var delivery = new ScriptedDelivery(TimeProvider.System);
        using var harness = new DrainerHarness(delivery, o => o.MaxDeliveriesPerClaim = 2);
        await AppendAsync(harness, Enumerable.Range(0, 5).Select(_ => Entry("github:1", "us", Start)));

        await harness.RunOnceAsync();
        delivery.Calls.Should().HaveCount(2);
        await harness.RunOnceAsync();
        delivery.Calls.Should().HaveCount(4);
        await harness.RunOnceAsync();
        delivery.Calls.Should().HaveCount(5);
    }

    [Fact]
    public async Task No_more_lanes_than_the_bound_are_drained_at_once()
    {
        var gate = new TaskCompletionSource<DeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivery = new ScriptedDelivery(TimeProvider.System, (_, _) => gate.Task);
        using var harness = new DrainerHarness(delivery, o => o.MaxConcurrentMailboxes = 2);
        for (var i = 0; i < 5; i++)
        {
            await AppendAsync(harness, [Entry($"github:{i}", "us", Start)]);
        }

        (await harness.Drainer.PollAsync(Ct)).Should().Be(2);
        (await harness.Drainer.PollAsync(Ct)).Should().Be(0, "both slots are taken");
        await WaitUntilAsync(() => delivery.Calls.Count == 2);
        harness.Drainer.ActiveLanes.Should().Be(2);

        gate.SetResult(DeliveryResult.Answered(200));
        for (var pass = 0; pass < 5 && delivery.Calls.Count < 5; pass++)
        {
            await harness.RunOnceAsync();
        }

        delivery.Calls.Should().HaveCount(5);
    }

    [Fact]
    public async Task A_deep_lane_is_sent_in_parallel_batches_of_the_worker_count()
    {
        var inFlight = 0;
        var peak = 0;
        var delivery = new ScriptedDelivery(TimeProvider.System);
        delivery.Answer = async (_, _) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            await Task.Delay(5, Ct);
            Interlocked.Decrement(ref inFlight);
            return DeliveryResult.Answered(200);
        };
        using var harness = new DrainerHarness(delivery, o => { o.Parallel.Threshold = 8; o.Parallel.Workers = 4; });
        await AppendAsync(harness, Enumerable.Range(0, 12).Select(_ => Entry("github:1", "us", Start)));

        await harness.RunOnceAsync();

        delivery.Calls.Should().HaveCount(12);
        peak.Should().Be(4);
    }

    [Fact]
    public async Task A_parallel_batch_with_a_failure_stops_the_lane_after_the_batch()
    {
        var delivery = new ScriptedDelivery(TimeProvider.System, (_, call) => Task.FromResult(DeliveryResult.Answered(call == 2 ? 503 : 200)));
        using var harness = new DrainerHarness(delivery, o => { o.Parallel.Threshold = 8; o.Parallel.Workers = 4; });
        var entries = await AppendAsync(harness, Enumerable.Range(0, 10).Select(_ => Entry("github:1", "us", Start)));

        await harness.RunOnceAsync();

        delivery.Calls.Should().HaveCount(4, "the batch in flight finishes, the next one is not started");
        var left = await harness.Store.PeekAsync(entries[0].Lane, 20, Ct);
        left.Should().HaveCount(7, "three of the first batch were delivered, out of order with the failed one");
        left.Count(e => e.Attempts == 1).Should().Be(1);
    }

    [Fact]
    public async Task A_parallel_batch_purged_while_on_the_wire_is_acknowledged_as_gone_and_stops_the_lane()
    {
        DrainerHarness? running = null;
        var delivery = new ScriptedDelivery(TimeProvider.System);
        delivery.Answer = async (entry, call) =>
        {
            if (call == 1)
            {
                await running!.Store.PurgeLanesAsync(entry.Mailbox, null, Ct);
            }

            return DeliveryResult.Answered(200);
        };
        using var harness = new DrainerHarness(delivery, o => { o.Parallel.Threshold = 8; o.Parallel.Workers = 4; });
        running = harness;
        var entries = await AppendAsync(harness, Enumerable.Range(0, 10).Select(_ => Entry("github:1", "us", Start)));

        await harness.RunOnceAsync();

        delivery.Calls.Should().HaveCount(4, "the batch in flight finishes, its acknowledgement finds the entries gone and the next batch is not started");
        (await harness.Store.PeekAsync(entries[0].Lane, 20, Ct)).Should().BeEmpty("nothing of the purged lane comes back");
    }

    [Fact]
    public async Task A_notification_wakes_the_running_drainer_without_waiting_for_the_poll()
    {
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivery = new ScriptedDelivery(TimeProvider.System, (_, _) =>
        {
            delivered.TrySetResult();
            return Task.FromResult(DeliveryResult.Answered(200));
        });
        using var harness = new DrainerHarness(delivery, o => o.PollIntervalSeconds = 3600);
        await harness.Drainer.StartAsync(Ct);

        await AppendAsync(harness, [Entry("github:1", "us", Start)]);
        harness.Signal.Notify("github:1");

        await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await harness.Drainer.StopAsync(Ct);
        harness.Time.GetUtcNow().Should().Be(Start, "no poll interval passed");
    }

    private static async Task<IReadOnlyList<MailboxEntry>> AppendAsync(DrainerHarness harness, IEnumerable<MailboxEntry> entries)
    {
        var list = entries.ToList();
        foreach (var group in list.GroupBy(e => e.Mailbox))
        {
            foreach (var entry in group)
            {
                await harness.Store.AppendAsync([entry], Ct);
            }
        }

        return list;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
