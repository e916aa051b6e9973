using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Proxy.Billing;
using Proxy.Billing.Counting;
using Proxy.Billing.Messages;
using Proxy.Billing.Processing;
using Proxy.Billing.Transport;
using StackExchange.Redis;

// Usage: Proxy.Billing.Bench <redis host:port> [buckets] [batch size]
// Prints three figures: parse+count per core, the raw Redis ceiling, and the consumer end to end on that Redis.
var redisAddress = args.Length > 0 ? args[0] : "127.0.0.1:6379";
var total = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
var batchSize = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 500;

var payloads = BucketMix.Create(total);
Console.WriteLine($"buckets {total}, batch {batchSize}, mean size {payloads.Average(p => p.Length):F0} bytes, redis {redisAddress}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");

var (parseWall, parseCpu) = ParseAndCount(payloads, TimeSpan.FromSeconds(5));
Console.WriteLine($"parse+count (1 thread):                 {parseWall,12:N0} buckets/s wall clock, {parseCpu:N0} buckets per CPU-second");

await using var connection = await ConnectionMultiplexer.ConnectAsync(redisAddress);
var db = connection.GetDatabase();
var raw = await RawCeilingAsync(db, payloads, batchSize);
Console.WriteLine($"redis raw ceiling (XREADGROUP+XADD+XACK): {raw,12:N0} buckets/s");
var endToEnd = await EndToEndAsync(redisAddress, db, payloads, batchSize);
Console.WriteLine($"consumer end to end:                    {endToEnd,12:N0} buckets/s  ({endToEnd / raw:P0} of the raw ceiling)");

// Per CPU-second of the process as well as per wall-clock second: on a shared machine the first is the per-core figure.
static (double Wall, double Cpu) ParseAndCount(byte[][] payloads, TimeSpan duration)
{
    long done = 0, billed = 0, custom = 0;
    for (var i = 0; i < 200_000; i++)
    {
        billed += Evaluate(payloads[i % payloads.Length], ref custom);
    }

    var process = Process.GetCurrentProcess();
    var cpuBefore = process.TotalProcessorTime;
    var watch = Stopwatch.StartNew();
    while (watch.Elapsed < duration)
    {
        foreach (var payload in payloads)
        {
            billed += Evaluate(payload, ref custom);
        }

        done += payloads.Length;
    }

    var wall = watch.Elapsed;
    process.Refresh();
    var cpu = process.TotalProcessorTime - cpuBefore;
    GC.KeepAlive(billed + custom);
    return (done / wall.TotalSeconds, done / cpu.TotalSeconds);
}

// What the consumer does per bucket before any I/O: parse, count, and tell a custom metric.
static long Evaluate(byte[] payload, ref long custom)
{
    if (!BucketParser.TryParse(payload, out var bucket, out _) || !BillableItemCounter.TryCount(bucket, out var count, out _))
    {
        return 0;
    }

    if (MetricResourceIdentifier.IsCustomMetric(bucket.Mri))
    {
        custom++;
    }

    return count?.Quantity ?? 0;
}

static async Task Fill(IDatabase db, string stream, byte[][] payloads)
{
    await db.KeyDeleteAsync(stream);
    foreach (var chunk in payloads.Chunk(1000))
    {
        var batch = db.CreateBatch();
        var adds = chunk.Select(p => batch.StreamAddAsync(stream, StreamFields.Payload, p)).ToArray();
        batch.Execute();
        await Task.WhenAll(adds);
    }
}

// The same Redis doing the same traffic with no processing: read a batch, write one entry per input, ack the batch.
static async Task<double> RawCeilingAsync(IDatabase db, byte[][] payloads, int batchSize)
{
    const string input = "{bench-raw}:in", output = "{bench-raw}:out";
    await Fill(db, input, payloads);
    await db.KeyDeleteAsync(output);
    await db.StreamCreateConsumerGroupAsync(input, "g", "0");
    var outcome = Encoding.UTF8.GetBytes("""{"timestamp":"2024-05-01T12:34:56.789012Z","org_id":1,"project_id":3,"key_id":null,"outcome":0,"reason":null,"event_id":null,"category":2,"quantity":3}""");
    var watch = Stopwatch.StartNew();
    long done = 0;
    while (true)
    {
        var entries = await db.StreamReadGroupAsync(input, "g", "c", StreamPosition.NewMessages, batchSize);
        if (entries.Length == 0)
        {
            break;
        }

        var batch = db.CreateBatch();
        var writes = entries.Select(_ => (Task)batch.StreamAddAsync(output, StreamFields.Payload, outcome)).ToList();
        writes.Add(batch.StreamAcknowledgeAsync(input, "g", [.. entries.Select(e => e.Id)]));
        batch.Execute();
        await Task.WhenAll(writes);
        done += entries.Length;
    }

    var rate = done / watch.Elapsed.TotalSeconds;
    await db.KeyDeleteAsync([input, output]);
    return rate;
}

static async Task<double> EndToEndAsync(string redisAddress, IDatabase db, byte[][] payloads, int batchSize)
{
    var tag = "{bench-e2e}";
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Billing:Enabled"] = "true",
        ["Billing:BatchSize"] = batchSize.ToString(CultureInfo.InvariantCulture),
        ["Billing:Redis:ConnectionString"] = redisAddress,
        ["Billing:Redis:InputStream"] = $"{tag}:in",
        ["Billing:Redis:BillingOutcomesStream"] = $"{tag}:outcomes-billing",
        ["Billing:Redis:OutcomesStream"] = $"{tag}:outcomes",
        ["Billing:Redis:EventsStream"] = $"{tag}:events",
        ["Billing:Redis:DeadLetterStream"] = $"{tag}:dlq",
        ["Billing:Flags:ProjectFlagsKeyPrefix"] = $"{tag}:project-flags:",
        ["Billing:Flags:EventMarkerKeyPrefix"] = $"{tag}:event:",
    }).Build();
    await using var services = new ServiceCollection().AddLogging().AddBillingConsumer(configuration).BuildServiceProvider();
    var transport = services.GetRequiredService<IBillingTransport>();
    var processor = services.GetRequiredService<BatchProcessor>();
    var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BillingOptions>>().Value;
    await db.KeyDeleteAsync([options.Redis.BillingOutcomesStream, options.Redis.OutcomesStream, options.Redis.EventsStream, options.Redis.DeadLetterStream]);
    foreach (var project in BucketMix.CustomProjects)
    {
        await db.StringSetAsync(options.Flags.ProjectFlagsKeyPrefix + project, "0");
    }

    await Fill(db, options.Redis.InputStream, payloads);
    await transport.StartAsync(CancellationToken.None);
    var watch = Stopwatch.StartNew();
    long done = 0;
    while (done < payloads.Length)
    {
        var batch = await transport.ReadBatchAsync(CancellationToken.None);
        if (batch.Count > 0)
        {
            await processor.ProcessAsync(transport, batch, CancellationToken.None);
            done += batch.Count;
        }
    }

    var rate = done / watch.Elapsed.TotalSeconds;
    var outcomes = await db.StreamLengthAsync(options.Redis.BillingOutcomesStream);
    Console.WriteLine($"  end to end wrote {outcomes:N0} outcomes (expected {BucketMix.ExpectedOutcomes(payloads):N0})");
    await db.KeyDeleteAsync([options.Redis.InputStream, options.Redis.BillingOutcomesStream, options.Redis.EventsStream, options.Redis.DeadLetterStream]);
    return rate;
}

/// <summary>A production-like mix: 40% usage counters, 50% other transaction/span metrics, 10% custom metrics.</summary>
internal static class BucketMix
{
    public static readonly long[] CustomProjects = [11, 12, 13, 14, 15];

    public static byte[][] Create(int count)
    {
        var payloads = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var slot = i % 10;
            var bucket = slot switch
            {
                < 4 => Bucket(i, slot % 2 == 0 ? BillableItemCounter.TransactionsUsageMetricId : BillableItemCounter.SpansUsageMetricId,
                    slot % 2 == 0 ? "c:transactions/usage@none" : "c:spans/usage@none", new CounterValue(1 + i % 20)),
                < 9 => Bucket(i, 9223372036854775909, "d:transactions/duration@millisecond", new ListValue([12.5, 80.25, 133.0])),
                _ => Bucket(i, 123, "d:custom/page_load@ms", new ListValue([1.0, 2.0]), CustomProjects[i % CustomProjects.Length]),
            };
            payloads[i] = JsonSerializer.SerializeToUtf8Bytes(bucket, BillingJsonContext.Default.MetricBucket);
        }

        return payloads;
    }

    public static long ExpectedOutcomes(byte[][] payloads) => payloads.Length / 10 * 4 + Math.Min(payloads.Length % 10, 4);

    private static MetricBucket Bucket(int i, ulong metricId, string mri, MetricValue value, long? project = null) => new()
    {
        Version = 2,
        UseCaseId = mri.Contains("custom", StringComparison.Ordinal) ? "custom" : "transactions",
        OrgId = 1 + i % 50,
        ProjectId = project ?? 100 + i % 500,
        MetricId = metricId,
        Type = mri[..1],
        Timestamp = 1677512412 + i / 100,
        SentryReceivedTimestamp = 1677519000.456,
        Tags = new Dictionary<string, string>
        {
            ["9223372036854776010"] = "production",
            ["9223372036854776017"] = "/api/0/organizations/{organization_slug}/",
            ["9223372036854776020"] = "ok",
        },
        Value = value,
        RetentionDays = 90,
        MappingMeta = new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["h"] = new Dictionary<string, string> { [metricId.ToString(CultureInfo.InvariantCulture)] = mri, ["9223372036854776010"] = "environment" },
            ["c"] = new Dictionary<string, string> { ["9223372036854776017"] = "transaction" },
        },
    };
}
