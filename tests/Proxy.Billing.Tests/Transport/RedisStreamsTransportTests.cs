using System.Text;
using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;
using Proxy.Billing.Transport;
using Proxy.Testing;

namespace Proxy.Billing.Tests.Transport;

[Collection(RedisTests.Name)]
public sealed class RedisStreamsTransportTests(RedisServer redis)
{
    private readonly long _org = Ids.NewOrganization();

    [Fact]
    internal async Task N_buckets_in_give_exactly_the_expected_outcomes_out()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now),
            s => s["Billing:BatchSize"] = "64");
        var buckets = new List<string>();
        long transactions = 0, spans = 0, expectedOutcomes = 0;
        for (var i = 0; i < 1_000; i++)
        {
            var value = i % 7 * 1.5;
            var metric = i % 2 == 0 ? Buckets.TransactionsUsage : Buckets.SpansUsage;
            buckets.Add(i % 10 == 9 ? Buckets.Duration(_org, i, value) : Buckets.Usage(_org, i % 13, value, metric));
            if (i % 10 != 9 && (long)value >= 1)
            {
                expectedOutcomes++;
                _ = metric == Buckets.TransactionsUsage ? transactions += (long)value : spans += (long)value;
            }
        }

        await harness.AddBucketsAsync([.. buckets]);
        await harness.DrainAsync();

        var outcomes = await harness.OutcomesAsync();
        outcomes.Should().HaveCount((int)expectedOutcomes);
        outcomes.Where(o => o.Category == DataCategory.Transaction).Sum(o => o.Quantity).Should().Be(transactions);
        outcomes.Where(o => o.Category == DataCategory.Span).Sum(o => o.Quantity).Should().Be(spans);
        outcomes.Should().OnlyContain(o => o.Kind == OutcomeKind.Accepted && o.OrgId == _org && o.Timestamp == Evaluation.Now);
        (await harness.EntriesAsync(harness.Options.Redis.OutcomesStream)).Should().BeEmpty();
        (await harness.EntriesAsync(harness.Options.Redis.DeadLetterStream)).Should().BeEmpty();
    }

    [Fact]
    internal async Task Outcomes_are_written_in_input_order()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));

        await harness.AddBucketsAsync(Buckets.Usage(_org, 1, 1), Buckets.Usage(_org, 2, 2), Buckets.Usage(_org, 3, 3));
        await harness.DrainAsync();

        (await harness.OutcomesAsync()).Select(o => o.Quantity).Should().Equal(1, 2, 3);
    }

    [Fact]
    internal async Task Committing_a_batch_twice_writes_its_outputs_once()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        await harness.AddBucketsAsync(Buckets.Usage(_org, 1, 5), Buckets.Usage(_org, 1, 6));
        var batch = await harness.Transport.ReadBatchAsync(default);
        var outputs = new List<OutboundMessage>
        {
            new(0, Destination.BillingOutcomes, Encoding.UTF8.GetBytes("a")),
            new(1, Destination.BillingOutcomes, Encoding.UTF8.GetBytes("b")),
        };

        var first = await harness.Transport.CommitAsync(batch, outputs, default);
        var second = await harness.Transport.CommitAsync(batch, outputs, default);

        first.Should().Equal(true, true);
        second.Should().Equal(false, false);
        (await harness.EntriesAsync(harness.Options.Redis.BillingOutcomesStream)).Should().HaveCount(2);
    }

    [Fact]
    internal async Task A_consumer_that_lost_the_reply_of_its_commit_reprocesses_its_pending_entries_without_duplicates()
    {
        var tag = "{billing-replay-" + Guid.NewGuid().ToString("N")[..6] + "}";
        var time = new FakeTimeProvider(Evaluation.Now);
        await using var harness = await BillingHarness.StartAsync(redis, time, tag: tag);
        await harness.AddBucketsAsync(Buckets.Usage(_org, 1, 5), Buckets.Usage(_org, 1, 6), Buckets.Usage(_org, 1, 7));
        var batch = await harness.Transport.ReadBatchAsync(default);

        // Half the batch committed (as if by an earlier attempt whose reply was lost), then the transport restarts.
        await harness.Transport.CommitAsync([batch[0]], [new OutboundMessage(0, Destination.BillingOutcomes, Encoding.UTF8.GetBytes("{}"))], default);
        await harness.Transport.StartAsync(default);
        var replayed = await harness.Transport.ReadBatchAsync(default);
        replayed.Select(m => m.Id).Should().Equal(batch.Skip(1).Select(m => m.Id));
        await harness.Processor.ProcessAsync(harness.Transport, replayed, default);

        (await harness.EntriesAsync(harness.Options.Redis.BillingOutcomesStream)).Should().HaveCount(3);
        (await harness.Database.StreamPendingAsync(harness.Options.Redis.InputStream, harness.Options.Redis.ConsumerGroup))
            .PendingMessageCount.Should().Be(0);
    }

    [Fact]
    internal async Task Entries_left_pending_by_a_dead_consumer_are_claimed_and_committed_once()
    {
        var tag = "{billing-claim-" + Guid.NewGuid().ToString("N")[..6] + "}";
        await using var dead = await BillingHarness.StartAsync(redis, TimeProvider.System,
            s => s["Billing:Redis:ConsumerName"] = "dead", tag);
        await dead.AddBucketsAsync(Buckets.Usage(_org, 1, 2), Buckets.Usage(_org, 1, 3));
        (await dead.Transport.ReadBatchAsync(default)).Should().HaveCount(2);

        await using var alive = await BillingHarness.StartAsync(redis, TimeProvider.System, s =>
        {
            s["Billing:Redis:ConsumerName"] = "alive";
            s["Billing:Redis:ClaimMinIdle"] = "00:00:00.200";
            s["Billing:MaxBatchWait"] = "00:00:00.020";
        }, tag);
        await alive.DrainAsync();

        (await alive.OutcomesAsync()).Select(o => o.Quantity).Should().Equal(2, 3);
        var consumers = await alive.Database.StreamConsumerInfoAsync(alive.Options.Redis.InputStream, alive.Options.Redis.ConsumerGroup);
        consumers.Should().OnlyContain(c => c.PendingMessageCount == 0);
    }

    [Fact]
    internal async Task Poison_goes_to_the_dead_letter_stream_with_its_error_and_input_id_and_the_rest_goes_on()
    {
        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now));
        var ids = await harness.AddBucketsAsync("{not json", Buckets.Usage(_org, 1, 4), "{\"org_id\":1}");
        await harness.Database.StreamAddAsync(harness.Options.Redis.InputStream, "other", "field");
        await harness.DrainAsync();

        var letters = await harness.EntriesAsync(harness.Options.Redis.DeadLetterStream);
        letters.Should().HaveCount(3);
        ((string?)letters[0][StreamFields.Payload]).Should().Be("{not json");
        ((string?)letters[0][StreamFields.Error]).Should().StartWith("invalid_json: ");
        ((string?)letters[0][StreamFields.InputId]).Should().Be(ids[0]);
        ((string?)letters[1][StreamFields.Error]).Should().Be("missing_key: missing key 'metric_id'");
        ((string?)letters[2][StreamFields.Error]).Should().StartWith("invalid_json: ");
        (await harness.OutcomesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(4);
    }

    [Fact]
    internal async Task Lag_counts_entries_not_yet_committed()
    {
        var time = new FakeTimeProvider(Evaluation.Now);
        await using var harness = await BillingHarness.StartAsync(redis, time, s => s["Billing:BatchSize"] = "2");
        await harness.AddBucketsAsync(Buckets.Usage(_org, 1, 1), Buckets.Usage(_org, 1, 1), Buckets.Usage(_org, 1, 1));

        var batch = await harness.Transport.ReadBatchAsync(default);
        harness.Transport.Lag.Should().Be(3);
        await harness.Processor.ProcessAsync(harness.Transport, batch, default);
        time.Advance(TimeSpan.FromSeconds(1));
        await harness.Transport.ReadBatchAsync(default);

        harness.Transport.Lag.Should().Be(1);
    }

    [Fact]
    internal async Task A_new_group_starts_at_the_beginning_of_an_existing_stream()
    {
        var tag = "{billing-old-" + Guid.NewGuid().ToString("N")[..6] + "}";
        await redis.Connection!.GetDatabase().StreamAddAsync($"{tag}:snuba-generic-metrics", StreamFields.Payload, Buckets.Usage(_org, 1, 9));

        await using var harness = await BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now), tag: tag);
        await harness.DrainAsync();

        (await harness.OutcomesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(9);
    }
}
