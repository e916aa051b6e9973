using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;
using Proxy.Billing.Transport;
using Proxy.Testing;
using StackExchange.Redis;

namespace Proxy.Billing.Tests.EndToEnd;

/// <summary>
/// The consumer end to end over the Kafka protocol, against librdkafka's mock cluster in this process (so these
/// run everywhere, with no broker installed): what comes out of every topic, a graceful stop, two consumers of
/// one group, and a partition moved to another member in the middle of a batch. Flags live in the test
/// redis-server. What the mock cannot show (offsets committed with a transaction, read_committed filtering,
/// fencing of zombie producers) is left to <see cref="KafkaBrokerCrashTests"/> on a real broker.
/// </summary>
[Collection(KafkaTests.Name)]
public sealed class KafkaEndToEndTests(KafkaMockCluster cluster, RedisServer redis, ITestOutputHelper output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private readonly long _org = Ids.NewOrganization();

    [Fact]
    internal async Task N_buckets_in_give_exactly_the_expected_records_on_every_topic()
    {
        var kafka = await NewAsync();
        var input = await InputAsync(kafka, 1_000);
        var host = await kafka.StartHostAsync();
        var delivered = kafka.Produce(input.Messages);

        var billing = kafka.ReadAsync(kafka.BillingOutcomesTopic, input.Outcomes.Count, Quiet);
        var other = kafka.ReadAsync(kafka.OutcomesTopic, 0, Quiet);
        var events = kafka.ReadAsync(kafka.EventsTopic, input.CustomProjects.Count, Quiet);
        var deadLetters = kafka.ReadAsync(kafka.DeadLetterTopic, input.DeadLetters.Count, Quiet);
        await Task.WhenAll(billing, other, events, deadLetters);
        await host.StopAsync();
        host.Dispose();

        VerifyOutcomes(await billing, input.Outcomes);
        (await other).Should().BeEmpty("every outcome of these buckets is ACCEPTED, a billing outcome");

        var published = (await events).Select(r => (Event: JsonSerializer.Deserialize(r.Message.Value, BillingJsonContext.Default.FirstCustomMetricReceived)!,
            Type: Header(r, "type"))).ToList();
        published.Select(p => p.Event.ProjectId).Should().BeEquivalentTo(input.CustomProjects, "one event per project, however many buckets it had");
        published.Should().AllSatisfy(p =>
        {
            p.Event.OrgId.Should().Be(_org);
            p.Type.Should().Be(FirstCustomMetricReceived.EventType);
        });

        var letters = await deadLetters;
        letters.Select(r => Encoding.UTF8.GetString(r.Message.Key!)).Should().BeEquivalentTo(input.DeadLetters.Select(i => Key(i)));
        letters.Should().AllSatisfy(letter =>
        {
            var index = int.Parse(Encoding.UTF8.GetString(letter.Message.Key!)[4..], CultureInfo.InvariantCulture);
            letter.Message.Value.Should().Be(input.Messages[index].Value, "a dead letter keeps the input's bytes");
            Header(letter, "error").Should().StartWith("invalid_json");
            Header(letter, "input_topic").Should().Be(kafka.InputTopic);
            Header(letter, "input_partition").Should().Be(delivered[index].Partition.Value.ToString(CultureInfo.InvariantCulture));
            Header(letter, "input_offset").Should().Be(delivered[index].Offset.Value.ToString(CultureInfo.InvariantCulture));
        });
    }

    [Fact]
    internal async Task A_graceful_stop_mid_stream_commits_whole_batches_and_leaves_no_gap()
    {
        var kafka = await NewAsync();
        var input = await InputAsync(kafka, 3_000);
        var host = await kafka.StartHostAsync(s => s["Billing:BatchSize"] = "50");
        kafka.Produce(input.Messages);
        await Eventually.HoldsAsync(() => Task.FromResult(kafka.Produced(kafka.BillingOutcomesTopic) > 0), "the first outcomes");
        await host.StopAsync();
        host.Dispose();

        var outcomes = (await kafka.ReadAsync(kafka.BillingOutcomesTopic, 0, Quiet)).Select(Outcome).ToList();
        output.WriteLine($"{outcomes.Count} of {input.Outcomes.Count} outcomes before the stop");
        outcomes.Should().NotBeEmpty();
        outcomes.GroupBy(o => o.ProjectId).Should().AllSatisfy(g => g.Should().ContainSingle("no outcome is repeated"));

        // Per partition, the billed inputs are the first ones in offset order: each committed batch was whole.
        var billed = outcomes.Select(o => Index(o.ProjectId!.Value)).ToHashSet();
        for (var partition = 0; partition < KafkaBilling.InputPartitions; partition++)
        {
            var billable = input.Outcomes.Keys.Select(Index).Where(i => i % KafkaBilling.InputPartitions == partition).Order().ToList();
            var done = billable.TakeWhile(billed.Contains).Count();
            billable.Skip(done).Where(billed.Contains).Should().BeEmpty($"partition {partition} has no gap before its last billed input");
        }
    }

    [Fact]
    internal async Task Two_consumers_of_one_group_share_the_partitions_and_bill_every_bucket_once()
    {
        var kafka = await NewAsync();
        var input = await InputAsync(kafka, 1_500);
        var first = await kafka.StartHostAsync(s => s["Billing:Kafka:TransactionalId"] += "-a");
        var second = await kafka.StartHostAsync(s => s["Billing:Kafka:TransactionalId"] += "-b");
        var (a, b) = (Transport(first), Transport(second));

        // Both in the group before any input, so no partition moves after a commit (the mock keeps no transactional offsets).
        await Eventually.HoldsAsync(() => Task.FromResult(a.HasAssignment && b.HasAssignment), "both consumers hold partitions");
        kafka.Produce(input.Messages);
        var outcomes = await kafka.ReadAsync(kafka.BillingOutcomesTopic, input.Outcomes.Count, Quiet);
        var shared = a.HasAssignment && b.HasAssignment;
        await Task.WhenAll(first.StopAsync(), second.StopAsync());
        first.Dispose();
        second.Dispose();

        shared.Should().BeTrue("each consumer still holds some of the partitions");
        VerifyOutcomes(outcomes, input.Outcomes);
    }

    [Fact]
    internal async Task A_partition_moved_mid_batch_is_billed_once_by_its_new_owner()
    {
        var kafka = await NewAsync();
        var input = await InputAsync(kafka, 600);

        // The first consumer's batch never fills and its batch wait runs on a clock the test holds, so the batch
        // stays open until the test lets it end: the second consumer joins while it holds every input, uncommitted.
        var clock = new FakeTimeProvider();
        var first = await kafka.StartHostAsync(
            s => (s["Billing:Kafka:TransactionalId"], s["Billing:BatchSize"], s["Billing:MaxBatchWait"]) = (s["Billing:Kafka:TransactionalId"] + "-a", "10000", "00:00:01"),
            services => services.AddSingleton<TimeProvider>(clock));
        var a = Transport(first);
        await Eventually.HoldsAsync(() => Task.FromResult(a.HasAssignment), "the first consumer holds the partitions");
        kafka.Produce(input.Messages);
        await Eventually.HoldsAsync(() => Task.FromResult(a.ReadingCount == input.Messages.Count), "the first consumer's batch holds every input");

        var second = await kafka.StartHostAsync(s => s["Billing:Kafka:TransactionalId"] += "-b");
        var b = Transport(second);
        await Eventually.HoldsAsync(() => Task.FromResult(a.HasAssignment && b.HasAssignment), "the group rebalanced over both consumers");

        // Now let the first consumer's batches end, as its clock would.
        using var ticking = new CancellationTokenSource();
        var ticks = Task.Run(async () =>
        {
            while (!ticking.IsCancellationRequested)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(50, CancellationToken.None);
            }
        }, CancellationToken.None);
        var outcomes = await kafka.ReadAsync(kafka.BillingOutcomesTopic, input.Outcomes.Count, TimeSpan.FromSeconds(2));
        await ticking.CancelAsync();
        await ticks;
        await Task.WhenAll(first.StopAsync(), second.StopAsync());
        first.Dispose();
        second.Dispose();

        VerifyOutcomes(outcomes, input.Outcomes);
    }

    private static KafkaTransport Transport(IHost host) => (KafkaTransport)host.Services.GetRequiredService<IBillingTransport>();

    private static Outcome Outcome(ConsumeResult<byte[]?, string> record) =>
        JsonSerializer.Deserialize(record.Message.Value, BillingJsonContext.Default.Outcome)!;

    private static string Header(ConsumeResult<byte[]?, string> record, string name) =>
        Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(name));

    private static string Key(int index) => string.Create(CultureInfo.InvariantCulture, $"key-{index}");

    private const long FirstProject = 2_000_000;

    private static int Index(long project) => (int)(project - FirstProject);

    private async Task<KafkaBilling> NewAsync()
    {
        var kafka = new KafkaBilling(cluster.BootstrapServers, redis);
        foreach (var (topic, partitions) in kafka.Topics)
        {
            cluster.CreateTopic(topic, partitions);
        }

        await Task.CompletedTask;
        return kafka;
    }

    /// <summary>
    /// Input i goes to partition i % 3 and is, by i % 10: 3 a duration bucket (no outcome), 7 malformed (a dead
    /// letter, key <c>key-i</c>), every 50th a custom-metric bucket of one of five projects (one event each), else
    /// a usage bucket of project 2,000,000 + i with quantity 1 + i % 5.
    /// </summary>
    private async Task<Input> InputAsync(KafkaBilling kafka, int count)
    {
        var messages = new List<(int, byte[]?, string)>();
        var outcomes = new Dictionary<long, long>();
        var deadLetters = new List<int>();
        var custom = new HashSet<long>();
        for (var i = 0; i < count; i++)
        {
            var partition = i % KafkaBilling.InputPartitions;
            var project = FirstProject + i;
            if (i % 10 == 3)
            {
                messages.Add((partition, null, Buckets.Duration(_org, project, 1)));
            }
            else if (i % 10 == 7)
            {
                messages.Add((partition, Encoding.UTF8.GetBytes(Key(i)), "{\"org_id\": " + i));
                deadLetters.Add(i);
            }
            else if (i % 50 == 9)
            {
                var customProject = 3_000_000L + i / 50 % 5;
                messages.Add((partition, null, Buckets.Custom(_org, customProject)));
                custom.Add(customProject);
            }
            else
            {
                var quantity = 1 + i % 5;
                messages.Add((partition, null, Buckets.Usage(_org, project, quantity, i % 2 == 0 ? Buckets.TransactionsUsage : Buckets.SpansUsage)));
                outcomes[project] = quantity;
            }
        }

        var database = redis.Connection!.GetDatabase();
        foreach (var project in custom)
        {
            await database.StringSetAsync(kafka.Settings["Billing:Flags:ProjectFlagsKeyPrefix"] + project, "0");
        }

        return new Input(messages, outcomes, deadLetters, custom);
    }

    private void VerifyOutcomes(List<ConsumeResult<byte[]?, string>> records, Dictionary<long, long> expected)
    {
        var outcomes = records.Select(Outcome).ToList();
        var byProject = outcomes.GroupBy(o => o.ProjectId!.Value).ToDictionary(g => g.Key, g => g.ToList());
        var duplicates = byProject.Values.Sum(g => g.Count - 1);
        var lost = expected.Keys.Count(p => !byProject.ContainsKey(p));
        output.WriteLine($"outcomes {outcomes.Count} of {expected.Count}, duplicates {duplicates}, lost {lost}");
        duplicates.Should().Be(0);
        lost.Should().Be(0);
        byProject.Keys.Should().BeSubsetOf(expected.Keys);
        byProject.Should().AllSatisfy(p => p.Value.Single().Quantity.Should().Be(expected[p.Key]));
        outcomes.Should().AllSatisfy(o => o.OrgId.Should().Be(_org));
    }

    private sealed record Input(IReadOnlyList<(int Partition, byte[]? Key, string Value)> Messages, Dictionary<long, long> Outcomes,
        IReadOnlyList<int> DeadLetters, IReadOnlySet<long> CustomProjects);
}
