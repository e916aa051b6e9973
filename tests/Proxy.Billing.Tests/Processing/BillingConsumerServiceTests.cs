using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Proxy.Billing.Tests.Support;
using Proxy.Billing.Transport;
using StackExchange.Redis;

namespace Proxy.Billing.Tests.Processing;

public sealed class BillingConsumerServiceTests
{
    private readonly long _org = Ids.NewOrganization();

    [Fact]
    internal async Task Graceful_shutdown_finishes_the_batch_in_flight()
    {
        var transport = new ScriptedTransport();
        transport.Batches.Enqueue([new InputMessage("1-0", Encoding.UTF8.GetBytes(Buckets.Usage(_org, 1, 2)))]);
        transport.HoldCommit = new TaskCompletionSource();
        using var host = Host(transport);
        await host.StartAsync();
        await transport.CommitStarted.Task;

        var stopping = host.StopAsync();
        transport.HoldCommit.SetResult();
        await stopping;

        transport.Committed.Should().ContainSingle().Which.Should().ContainSingle(o => o.Destination == Destination.BillingOutcomes);
        transport.CommitWasCancelled.Should().BeFalse();
    }

    [Fact]
    internal async Task Backs_off_and_resumes_after_failures()
    {
        var transport = new ScriptedTransport { FailingStarts = 2, FailingCommits = 1 };
        transport.Batches.Enqueue([new InputMessage("1-0", Encoding.UTF8.GetBytes(Buckets.Usage(_org, 1, 2)))]);
        using var host = Host(transport);
        await host.StartAsync();

        await Eventually.HoldsAsync(() => Task.FromResult(transport.Committed.Count == 1), "the batch is committed");
        await host.StopAsync();

        // Two failed starts, then a start, a failed commit, and a start again that re-reads the uncommitted batch.
        transport.Starts.Should().Be(4);
    }

    [Fact]
    internal async Task Survives_a_redis_restart_and_loses_or_repeats_nothing()
    {
        await using var redis = new RestartableRedis();
        await redis.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Billing:Enabled"] = "true",
            ["Billing:Redis:ConnectionString"] = redis.ConnectionString,
            ["Billing:MaxBatchWait"] = "00:00:00.020",
            ["Billing:InitialRetryDelay"] = "00:00:00.050",
            ["Billing:MaxRetryDelay"] = "00:00:00.500",
        };
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddBillingConsumer(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();

        await AddAsync(redis, 0, 10);
        await Eventually.HoldsAsync(async () => await OutcomeCountAsync(redis) == 10, "first 10 outcomes");
        await redis.KillAsync();
        await Task.Delay(300);
        await redis.StartAsync();
        await AddAsync(redis, 10, 20);
        await Eventually.HoldsAsync(async () => await OutcomeCountAsync(redis) >= 20 && await PendingAsync(redis) == 0, "20 outcomes after the restart");
        await host.StopAsync();

        (await OutcomeCountAsync(redis)).Should().Be(20);
    }

    private async Task AddAsync(RestartableRedis redis, int from, int to)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        for (var i = from; i < to; i++)
        {
            await connection.GetDatabase().StreamAddAsync("{billing}:snuba-generic-metrics", StreamFields.Payload, Buckets.Usage(_org, i, 1));
        }
    }

    private static async Task<long> OutcomeCountAsync(RestartableRedis redis)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        return await connection.GetDatabase().StreamLengthAsync("{billing}:outcomes-billing");
    }

    private static async Task<long> PendingAsync(RestartableRedis redis)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        return (await connection.GetDatabase().StreamPendingAsync("{billing}:snuba-generic-metrics", "billing-metrics-consumer")).PendingMessageCount;
    }

    private static IHost Host(ScriptedTransport transport)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Billing:Enabled"] = "true",
            ["Billing:Redis:ConnectionString"] = "127.0.0.1:1",
            ["Billing:InitialRetryDelay"] = "00:00:00.010",
            ["Billing:MaxRetryDelay"] = "00:00:00.040",
        });
        builder.Services.AddSingleton<IBillingTransport>(transport);
        builder.Services.AddBillingConsumer(builder.Configuration);
        return builder.Build();
    }

    /// <summary>A transport that hands out queued batches and records commits; it stands for no real system.</summary>
    private sealed class ScriptedTransport : IBillingTransport
    {
        private IReadOnlyList<InputMessage>? _uncommitted;

        public Queue<IReadOnlyList<InputMessage>> Batches { get; } = new();

        public List<IReadOnlyList<OutboundMessage>> Committed { get; } = [];

        public TaskCompletionSource? HoldCommit { get; set; }

        public TaskCompletionSource CommitStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool CommitWasCancelled { get; private set; }

        public int FailingStarts { get; set; }

        public int FailingCommits { get; set; }

        public int Starts { get; private set; }

        public string System => "test";

        public string InputName => "input";

        public string ConsumerGroup => "group";

        public long? Lag => null;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Starts++;
            return FailingStarts-- > 0 ? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "down") : Task.CompletedTask;
        }

        public async Task<IReadOnlyList<InputMessage>> ReadBatchAsync(CancellationToken cancellationToken)
        {
            if (_uncommitted is { } again)
            {
                return again;
            }

            if (Batches.TryDequeue(out var batch))
            {
                _uncommitted = batch;
                return batch;
            }

            await Task.Delay(10, cancellationToken);
            return [];
        }

        public async Task<IReadOnlyList<bool>> CommitAsync(IReadOnlyList<InputMessage> inputs, IReadOnlyList<OutboundMessage> outputs,
            CancellationToken cancellationToken)
        {
            CommitStarted.TrySetResult();
            if (HoldCommit is { } hold)
            {
                await hold.Task;
            }

            CommitWasCancelled |= cancellationToken.IsCancellationRequested;
            if (FailingCommits-- > 0)
            {
                throw new RedisTimeoutException("lost reply", CommandStatus.Sent);
            }

            Committed.Add(outputs);
            _uncommitted = null;
            return [.. inputs.Select(_ => true)];
        }

        public Task<bool> IsCommittedAsync(string inputId, CancellationToken cancellationToken) => Task.FromResult(true);

        public Task<TransportReadiness> CheckReadinessAsync(TimeSpan timeout, CancellationToken cancellationToken)
            => Task.FromResult(TransportReadiness.Ready);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
