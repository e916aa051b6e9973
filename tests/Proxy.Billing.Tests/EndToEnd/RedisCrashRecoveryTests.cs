using System.Text.Json;
using Proxy.Billing.Messages;
using Proxy.Billing.Tests.Support;
using Proxy.Billing.Transport;
using Proxy.Testing;
using StackExchange.Redis;

namespace Proxy.Billing.Tests.EndToEnd;

/// <summary>
/// The host process is killed with SIGKILL while it works through the input, several times, and restarted under a
/// new consumer name (so the dead one's pending entries must be claimed). Every outcome must exist exactly once.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class RedisCrashRecoveryTests(RedisServer redis, ITestOutputHelper output)
{
    private const int Buckets = 20_000;
    private const int Kills = 3;

    [Fact]
    internal async Task Killing_the_consumer_mid_batch_loses_and_repeats_no_outcome()
    {
        var tag = "{billing-kill-" + Guid.NewGuid().ToString("N")[..6] + "}";
        var org = Ids.NewOrganization();
        var db = redis.Connection!.GetDatabase();
        var settings = BillingHarness.Settings(redis, tag).ToDictionary(p => p.Key, p => p.Value!);
        settings["Billing:BatchSize"] = "200";
        settings["Billing:MaxBatchWait"] = "00:00:00.010";
        settings["Billing:Redis:ClaimMinIdle"] = "00:00:01";
        var input = settings["Billing:Redis:InputStream"];

        long[] customProjects = [900_001, 900_002, 900_003];
        foreach (var project in customProjects)
        {
            await db.StringSetAsync(settings["Billing:Flags:ProjectFlagsKeyPrefix"] + project, "0");
        }

        var expected = new Dictionary<long, long>();
        var payloads = new List<string>();
        var poison = 0;
        for (var i = 0; i < Buckets; i++)
        {
            var project = 1_000_000L + i;
            if (i % 50 == 7)
            {
                payloads.Add(Support.Buckets.Custom(org, customProjects[i % 3]));
            }
            else if (i % 97 == 5)
            {
                payloads.Add("{\"org_id\":" + i);
                poison++;
            }
            else if (i % 10 == 3)
            {
                payloads.Add(Support.Buckets.Duration(org, project, 1, 2));
            }
            else
            {
                var quantity = 1 + i % 9;
                payloads.Add(Support.Buckets.Usage(org, project, quantity + 0.5, i % 2 == 0 ? Support.Buckets.TransactionsUsage : Support.Buckets.SpansUsage));
                expected[project] = quantity;
            }
        }

        // All the input is there before the first start, so the consumer is busy (a batch in flight) when it is killed.
        await AddAsync(db, input, payloads);

        var pendingAtKill = new List<long>();
        for (var run = 0; run < Kills; run++)
        {
            settings["Billing:Redis:ConsumerName"] = $"run-{run}";
            await using var host = HostProcess.Start(settings);
            var target = expected.Count * (run + 1) / (Kills + 1);
            await Eventually.HoldsAsync(async () => host.HasExited || await db.StreamLengthAsync(settings["Billing:Redis:BillingOutcomesStream"]) >= target,
                $"run {run} reaches {target} outcomes");
            host.HasExited.Should().BeFalse(host.Output);
            await host.KillAsync();
            pendingAtKill.Add((await db.StreamPendingAsync(input, "billing-metrics-consumer")).PendingMessageCount);
        }

        settings["Billing:Redis:ConsumerName"] = "final";
        await using (var last = HostProcess.Start(settings))
        {
            await Eventually.HoldsAsync(async () =>
            {
                var group = (await db.StreamGroupInfoAsync(input)).Single();
                return group.Lag == 0 && group.PendingMessageCount == 0;
            }, "the input is consumed and nothing is pending", limitSeconds: 90);
            last.HasExited.Should().BeFalse(last.Output);
        }

        var outcomes = (await db.StreamRangeAsync(settings["Billing:Redis:BillingOutcomesStream"]))
            .Select(e => JsonSerializer.Deserialize((string)e[StreamFields.Payload]!, BillingJsonContext.Default.Outcome)!)
            .ToList();
        var byProject = outcomes.GroupBy(o => o.ProjectId!.Value).ToDictionary(g => g.Key, g => g.ToList());
        var duplicates = byProject.Values.Sum(g => g.Count - 1);
        var lost = expected.Keys.Count(p => !byProject.ContainsKey(p));
        var events = await db.StreamRangeAsync(settings["Billing:Redis:EventsStream"]);
        output.WriteLine($"buckets {payloads.Count}, kills {Kills}, pending at each kill [{string.Join(", ", pendingAtKill)}], " +
            $"outcomes {outcomes.Count} of {expected.Count} expected, duplicates {duplicates}, lost {lost}, " +
            $"quantity {outcomes.Sum(o => o.Quantity)} of {expected.Values.Sum()}, events {events.Length}");

        duplicates.Should().Be(0);
        lost.Should().Be(0);
        outcomes.Should().HaveCount(expected.Count);
        outcomes.Sum(o => o.Quantity).Should().Be(expected.Values.Sum());
        byProject.Should().OnlyContain(p => p.Value[0].Quantity == expected[p.Key]);
        events.Select(e => JsonSerializer.Deserialize((string)e[StreamFields.Payload]!, BillingJsonContext.Default.FirstCustomMetricReceived)!.ProjectId)
            .Should().BeEquivalentTo(customProjects);
        (await db.StreamLengthAsync(settings["Billing:Redis:DeadLetterStream"])).Should().Be(poison);
        (await db.StreamLengthAsync(settings["Billing:Redis:OutcomesStream"])).Should().Be(0);
    }

    private static async Task AddAsync(IDatabase db, string stream, IEnumerable<string> payloads)
    {
        var batch = db.CreateBatch();
        var adds = payloads.Select(p => batch.StreamAddAsync(stream, StreamFields.Payload, p)).ToList();
        batch.Execute();
        await Task.WhenAll(adds);
    }
}
