using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Proxy.Routing.Regions.Caching;

namespace Proxy.Routing.Tests.Regions;

/// <summary>The Redis guard on a fake clock: one short timeout, then Redis is skipped for RetryAfter, then one probe.</summary>
public sealed class GuardedDistributedCacheTests
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _time = new();
    private readonly ScriptedCache _redis = new();
    private readonly GuardedDistributedCache _cache;
    private readonly RedisBreaker _breaker;

    public GuardedDistributedCacheTests()
    {
        _breaker = new RedisBreaker(Options.Create(new RedisOptions { OperationTimeout = OperationTimeout, RetryAfter = RetryAfter }),
            _time, NullLogger<RedisBreaker>.Instance);
        _cache = new GuardedDistributedCache(_redis, _breaker);
    }

    [Fact]
    public async Task A_read_that_hangs_is_a_miss_after_the_operation_timeout_and_later_reads_skip_Redis()
    {
        _redis.Hang = true;

        var read = _cache.GetAsync("k");
        read.IsCompleted.Should().BeFalse();
        _time.Advance(OperationTimeout);
        (await read).Should().BeNull();
        _breaker.IsOpen.Should().BeTrue();

        var skipped = _cache.GetAsync("k");
        skipped.IsCompletedSuccessfully.Should().BeTrue("Redis is skipped: no wait at all");
        (await skipped).Should().BeNull();
        await _cache.SetAsync("k", [1], new DistributedCacheEntryOptions());
        _redis.Calls.Should().Be(1, "neither the skipped read nor the dropped write reached Redis");
    }

    [Fact]
    public async Task After_the_retry_period_one_probe_goes_to_Redis_and_success_closes_the_breaker()
    {
        _redis.Fail = true;
        (await _cache.GetAsync("k")).Should().BeNull();
        _redis.Fail = false;
        _redis.Hang = true;
        _time.Advance(RetryAfter);

        var probe = _cache.GetAsync("k");
        var other = await _cache.GetAsync("k");
        _redis.Hang = false;
        _redis.Release([7]);

        (await probe).Should().Equal(7);
        other.Should().BeNull("only one caller probes; the others still skip");
        _redis.Calls.Should().Be(2);
        _breaker.IsOpen.Should().BeFalse();
        (await _cache.GetAsync("k")).Should().Equal(7);
    }

    [Fact]
    public async Task A_failed_read_of_a_tag_invalidation_time_fails_so_HybridCache_takes_the_tag_as_invalidated()
    {
        _redis.Fail = true;

        var read = () => _cache.GetAsync("__MSFT_HCT__directory:tag:organization:1");

        await read.Should().ThrowAsync<TimeoutException>();
        await read.Should().ThrowAsync<TimeoutException>("skipped is not 'never invalidated' either");
    }

    [Fact]
    public async Task A_failed_write_or_remove_is_dropped_without_an_exception()
    {
        _redis.Fail = true;

        await _cache.SetAsync("k", [1], new DistributedCacheEntryOptions());
        await _cache.RemoveAsync("k");

        _breaker.IsOpen.Should().BeTrue();
    }

    /// <summary>A second level that answers, fails or hangs as the test says.</summary>
    private sealed class ScriptedCache : IDistributedCache
    {
        private TaskCompletionSource<byte[]?> _pending = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private byte[]? _value;

        public bool Hang { get; set; }

        public bool Fail { get; set; }

        public int Calls { get; private set; }

        public void Release(byte[] value)
        {
            _value = value;
            _pending.TrySetResult(value);
        }

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
        {
            Calls++;
            if (Fail)
            {
                return Task.FromException<byte[]?>(new InvalidOperationException("Redis failed"));
            }

            if (Hang)
            {
                _pending = new(TaskCreationOptions.RunContinuationsAsynchronously);
                return _pending.Task;
            }

            return Task.FromResult(_value);
        }

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
        {
            Calls++;
            return Fail ? Task.FromException(new InvalidOperationException("Redis failed")) : Task.CompletedTask;
        }

        public Task RemoveAsync(string key, CancellationToken token = default) => SetAsync(key, [], new DistributedCacheEntryOptions(), token);

        public Task RefreshAsync(string key, CancellationToken token = default) => Task.CompletedTask;

        public byte[]? Get(string key) => throw new NotSupportedException();

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => throw new NotSupportedException();

        public void Refresh(string key) => throw new NotSupportedException();

        public void Remove(string key) => throw new NotSupportedException();
    }
}
