using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Telemetry;

namespace Proxy.Mailbox;

/// <summary>
/// Delivers mailbox entries to their regions. Each due lane is claimed (leased) and drained head first. In a strict lane
/// the first failure stops the lane (head-of-line blocking keeps the order) until its backoff runs out; in a due-head
/// lane (<see cref="MailboxOrdering"/>) the failed entry waits out its backoff where it is and the drain goes on with
/// the lane's next due entry. An entry found gone when its result is written (an operator purged the lane) stops the
/// lane without writing anything. An attempt is counted
/// when its send got a result: a send cut short by shutdown, or whose result the store could not take, leaves the entry
/// as it was, due at once. While the host stops, no new entry is taken; sends in flight finish until the hard stop.
/// Lanes at least <see cref="MailboxParallelOptions.Threshold"/> deep go out <see cref="MailboxParallelOptions.Workers"/>
/// at a time, trading order within a batch for throughput.
/// </summary>
internal sealed partial class MailboxDrainer(
    IMailboxStore store,
    IMailboxDelivery delivery,
    MailboxSignal signal,
    MailboxMetrics metrics,
    IOptionsMonitor<MailboxOptions> options,
    TimeProvider time,
    ILogger<MailboxDrainer> logger,
    IHostApplicationLifetime? lifetime = null,
    MailboxOrdering? ordering = null,
    RedisEvictionGate? evictionGate = null) : BackgroundService
{
    private readonly MailboxOrdering _ordering = ordering ?? MailboxOrdering.StrictEverywhere;

    private const int PageSize = 100;
    private static readonly TimeSpan s_maxPollBackoff = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<MailboxLane, Task> _active = new();
    private readonly CancellationTokenSource _hardStop = new();
    private readonly CancellationTokenSource _stopping = new();
    private DateTimeOffset _nextRepair = DateTimeOffset.MinValue;

    /// <summary>Lanes being drained by this replica right now.</summary>
    public int ActiveLanes => _active.Count;

    /// <summary>True from the moment the host begins to stop: no lane takes another entry.</summary>
    private bool Stopping => _stopping.IsCancellationRequested || _hardStop.IsCancellationRequested;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // In-flight sends may finish (they have their own timeout) until the host's shutdown deadline; then they are
        // cancelled, which costs their entries nothing. Every lease is given back before this returns.
        await _stopping.CancelAsync().ConfigureAwait(false);
        await using var registration = cancellationToken.Register(_hardStop.Cancel);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(_active.Values).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _hardStop.Dispose();
        _stopping.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // ApplicationStopping comes before any hosted service is stopped (Kestrel is stopped first and may take a while).
        await using var stopping = lifetime?.ApplicationStopping.Register(_stopping.Cancel);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = TimeSpan.FromSeconds(options.CurrentValue.PollIntervalSeconds);
            try
            {
                if (evictionGate is { IsOpen: false })
                {
                    // The Redis's eviction policy is not known to be safe (yet): leave the store alone.
                    await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                await RepairIndexesIfDueAsync(stoppingToken).ConfigureAwait(false);
                await PollAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                wait = TimeSpan.FromTicks(Math.Min(s_maxPollBackoff.Ticks, wait.Ticks << Math.Min(failures, 10)));
                Log.PollFailed(logger, wait, ex);
            }

            try
            {
                await signal.WaitAsync(wait, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(_active.Values).ConfigureAwait(false);
    }

    /// <summary>One scheduling pass: claims due lanes into free slots and starts draining them. Returns how many started.</summary>
    internal async Task<int> PollAsync(CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var free = settings.MaxConcurrentMailboxes - _active.Count;
        if (free <= 0)
        {
            return 0;
        }

        var lease = TimeSpan.FromSeconds(settings.LeaseSeconds);
        var started = 0;
        foreach (var lane in await store.GetDueLanesAsync(free + _active.Count, cancellationToken).ConfigureAwait(false))
        {
            if (started == free || Stopping)
            {
                break;
            }

            if (_active.ContainsKey(lane) || await TryClaimAsync(lane, lease, cancellationToken).ConfigureAwait(false) is not { } claimed)
            {
                continue;
            }

            Start(claimed);
            started++;
        }

        return started;
    }

    /// <summary>Claims one lane; an error of that lane (a broken entry, a store error for its keys) skips it, never the pass.</summary>
    private async Task<MailboxLease?> TryClaimAsync(MailboxLane lane, TimeSpan lease, CancellationToken cancellationToken)
    {
        try
        {
            return await store.TryClaimAsync(lane, lease, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.LaneFailed(LaneStages.Claim, lane.Region);
            Log.ClaimFailed(logger, lane, ex);
            return null;
        }
    }

    /// <summary>One pass and the drains it started, to the end (tests drive the drainer with it).</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await PollAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(_active.Values).ConfigureAwait(false);
    }

    private void Start(MailboxLease lease)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _active[lease.Lane] = done.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await DrainLaneAsync(lease).ConfigureAwait(false);
            }
            finally
            {
                _active.TryRemove(lease.Lane, out _);
                done.TrySetResult();
                signal.Notify(lease.Lane.Mailbox);
            }
        });
    }

    private async Task DrainLaneAsync(MailboxLease lease)
    {
        var settings = options.CurrentValue;
        var keeper = new LeaseKeeper(store, lease, TimeSpan.FromSeconds(settings.LeaseSeconds), time, logger);
        // Due-head: pages hold only due entries, and an entry that must wait does not stop the lane.
        var dueHead = _ordering.IsDueHead(lease.Lane.Mailbox);
        try
        {
            var processed = 0;
            while (!Stopping && !keeper.Lost && processed < settings.MaxDeliveriesPerClaim)
            {
                var size = Math.Max(PageSize, settings.Parallel.Threshold);
                var page = dueHead
                    ? await store.PeekDueAsync(lease.Lane, size, _hardStop.Token).ConfigureAwait(false)
                    : await store.PeekAsync(lease.Lane, size, _hardStop.Token).ConfigureAwait(false);
                if (page.Count == 0)
                {
                    break;
                }

                var parallel = settings.Parallel.Threshold > 0 && page.Count >= settings.Parallel.Threshold;
                var batch = page.Take(settings.MaxDeliveriesPerClaim - processed).ToList();
                var (count, keepGoing) = parallel
                    ? await DrainInParallelAsync(keeper, batch, settings, dueHead).ConfigureAwait(false)
                    : await DrainInOrderAsync(keeper, batch, settings, dueHead).ConfigureAwait(false);
                processed += count;
                if (!keepGoing)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (!_hardStop.IsCancellationRequested)
        {
            metrics.LaneFailed(LaneStages.Drain, lease.Lane.Region);
            Log.DrainFailed(logger, lease.Lane, ex);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await keeper.DisposeAsync().ConfigureAwait(false);
            try
            {
                await store.ReleaseAsync(keeper.Lease, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The lease runs out by itself; the lane is only late.
                Log.ReleaseFailed(logger, lease.Lane, ex);
            }
        }
    }

    private async Task<(int Count, bool KeepGoing)> DrainInOrderAsync(LeaseKeeper keeper, List<MailboxEntry> batch, MailboxOptions settings, bool dueHead)
    {
        var count = 0;
        foreach (var entry in batch)
        {
            if (Stopping || keeper.Lost)
            {
                return (count, false);
            }

            var step = await ProcessAsync(keeper, entry, settings).ConfigureAwait(false);
            if (step == Step.Stop || (step == Step.Wait && !dueHead))
            {
                return (count, false);
            }

            count++;
        }

        return (count, true);
    }

    private async Task<(int Count, bool KeepGoing)> DrainInParallelAsync(LeaseKeeper keeper, List<MailboxEntry> batch, MailboxOptions settings, bool dueHead)
    {
        var count = 0;
        foreach (var chunk in batch.Chunk(settings.Parallel.Workers))
        {
            if (Stopping || keeper.Lost)
            {
                return (count, false);
            }

            var results = await Task.WhenAll(chunk.Select(entry => ProcessAsync(keeper, entry, settings, ackLater: true))).ConfigureAwait(false);
            var gone = !await AckDeliveredAsync(keeper.Lease.Lane, chunk, results).ConfigureAwait(false);
            count += chunk.Length;
            if (gone || results.Contains(Step.Stop) || (!dueHead && results.Contains(Step.Wait)))
            {
                return (count, false);
            }
        }

        return (count, true);
    }

    /// <summary>
    /// Deletes the entries of a chunk that were delivered (<see cref="Step.Delivered"/>) in one store call; false when
    /// one of them was no longer in the lane (purged while on the wire), which stops the lane.
    /// </summary>
    private async Task<bool> AckDeliveredAsync(MailboxLane lane, MailboxEntry[] chunk, Step[] results)
    {
        var delivered = chunk.Where((_, i) => results[i] == Step.Delivered).ToList();
        if (delivered.Count == 0)
        {
            return true;
        }

        var acked = await store.AckManyAsync(lane, delivered.Select(e => e.DeliveryId).ToList(), CancellationToken.None).ConfigureAwait(false);
        var all = true;
        for (var i = 0; i < delivered.Count; i++)
        {
            if (!acked[i])
            {
                Log.EntryGone(logger, delivered[i].DeliveryId, lane);
                all = false;
            }
        }

        return all;
    }

    /// <summary>What the lane does after one entry.</summary>
    private enum Step
    {
        /// <summary>The entry left the lane (delivered or dead-lettered): go on.</summary>
        Next,

        /// <summary>The entry waits (not due, or a retry is scheduled): a strict lane stops, a due-head lane goes on.</summary>
        Wait,

        /// <summary>Stop the lane: stopping, the lease was lost, or the entry was gone when its result was written.</summary>
        Stop,

        /// <summary>The entry was delivered and is still to be acknowledged by the caller (with the rest of its chunk).</summary>
        Delivered,
    }

    /// <summary>
    /// Delivers, drops or reschedules one entry and says what the lane does next.
    /// The result is written with no cancellation: once a region answered, recording it beats a shutdown deadline.
    /// With <paramref name="ackLater"/> a delivered entry is not acknowledged here: <see cref="Step.Delivered"/> leaves it to the caller.
    /// </summary>
    private async Task<Step> ProcessAsync(LeaseKeeper keeper, MailboxEntry entry, MailboxOptions settings, bool ackLater = false)
    {
        var now = time.GetUtcNow();
        if (entry.NextAttemptAt > now)
        {
            return Step.Wait;
        }

        if (entry.Attempts >= settings.MaxAttempts)
        {
            return await DropAsync(entry, entry.Attempts, DeliveryOutcomes.AttemptsExceeded, new DeadLetterCause(DeliveryOutcomes.AttemptsExceeded, null, null)).ConfigureAwait(false);
        }

        if (now - entry.ReceivedAt > settings.MaxAge)
        {
            return await DropAsync(entry, entry.Attempts, DeliveryOutcomes.MaxAge, new DeadLetterCause(DeliveryOutcomes.MaxAge, null, null)).ConfigureAwait(false);
        }

        var attempt = entry.Attempts + 1;
        var result = await SendAsync(entry with { Attempts = attempt }).ConfigureAwait(false);
        var verdict = DeliveryVerdict.Of(result);
        if (verdict.Decision != DeliveryDecision.Delivered && _hardStop.IsCancellationRequested)
        {
            // Cut short by the shutdown, not refused by the region: not an attempt, due again at once.
            Log.SendCancelled(logger, entry.DeliveryId, entry.Lane);
            return Step.Stop;
        }

        if (verdict.Decision == DeliveryDecision.Delivered)
        {
            metrics.Delivered(DeliveryOutcomes.Ok, entry.Region);
            metrics.DeliveredAge(time.GetUtcNow() - entry.ReceivedAt, entry.Region);
            if (ackLater)
            {
                return Step.Delivered;
            }

            if (!await store.AckAsync(entry.Lane, entry.DeliveryId, CancellationToken.None).ConfigureAwait(false))
            {
                // Purged while it was on the wire (or taken over after a lost lease): the rest of the page may be gone too.
                Log.EntryGone(logger, entry.DeliveryId, entry.Lane);
                return Step.Stop;
            }

            return Step.Next;
        }

        metrics.Failed(verdict.FailureReason!, entry.Region);
        // The attempt is counted now that it has its result (a dead letter, too, keeps its count).
        var answeredAt = time.GetUtcNow();
        var backoffUntil = answeredAt + BackoffPolicy.DelayAfter(attempt, settings.Backoff);
        if (!await store.RescheduleAsync(keeper.Lease, entry.DeliveryId, backoffUntil, CancellationToken.None).ConfigureAwait(false))
        {
            // The lease was lost, or the entry purged while on the wire: nothing was written and nothing comes back.
            keeper.MarkLost();
            Log.EntryGoneOrLeaseLost(logger, entry.DeliveryId, entry.Lane);
            return Step.Stop;
        }

        var errorName = DeliveryVerdict.ErrorName(result);
        if (verdict.Decision == DeliveryDecision.Drop)
        {
            return await DropAsync(entry, attempt, DeliveryOutcomes.Dropped, new DeadLetterCause(verdict.FailureReason!, result.StatusCode, errorName)).ConfigureAwait(false);
        }

        if (attempt >= settings.MaxAttempts)
        {
            // The last attempt failed: waiting out one more backoff would only block the lane longer.
            return await DropAsync(entry, attempt, DeliveryOutcomes.AttemptsExceeded, new DeadLetterCause(DeliveryOutcomes.AttemptsExceeded, result.StatusCode, errorName)).ConfigureAwait(false);
        }

        var next = backoffUntil;
        var asked = BackoffPolicy.NotBefore(answeredAt, result.RetryAfter, settings.Backoff);
        if (asked > backoffUntil && await store.PostponeAsync(keeper.Lease, entry.DeliveryId, asked, CancellationToken.None).ConfigureAwait(false))
        {
            next = asked;
        }

        metrics.Delivered(DeliveryOutcomes.Retry, entry.Region);
        Log.WillRetry(logger, entry.DeliveryId, entry.Lane, verdict.FailureReason!, result.StatusCode, attempt, next);
        return Step.Wait;
    }

    /// <summary>Dead-letters an entry; <see cref="Step.Stop"/> when it was no longer in its lane (purged), which writes nothing.</summary>
    private async Task<Step> DropAsync(MailboxEntry entry, int attempts, string outcome, DeadLetterCause cause)
    {
        if (!await store.DeadLetterAsync(entry.Lane, entry.DeliveryId, cause, CancellationToken.None).ConfigureAwait(false))
        {
            Log.EntryGone(logger, entry.DeliveryId, entry.Lane);
            return Step.Stop;
        }

        metrics.Delivered(outcome, entry.Region);
        Log.DeadLettered(logger, entry.DeliveryId, entry.Lane, cause.Reason, cause.LastStatus, attempts);
        return Step.Next;
    }

    private async Task<DeliveryResult> SendAsync(MailboxEntry entry)
    {
        // Each delivery is a trace of its own, linked to the span that accepted the webhook.
        Activity.Current = null;
        ActivityLink[]? links = null;
        if (entry.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, isRemote: true, out var accepted))
        {
            links = [new ActivityLink(accepted)];
        }

        using var activity = MailboxTelemetry.Source.StartActivity(MailboxTelemetry.DeliverySpanName, ActivityKind.Consumer, default(ActivityContext),
            [
                new(TelemetryAttributes.MessagingSystem, TelemetryAttributes.MailboxSystem),
                new(TelemetryAttributes.MessagingOperationType, "process"),
                new(TelemetryAttributes.MessagingOperationName, "deliver"),
                new(TelemetryAttributes.MessagingDestinationName, entry.Mailbox),
                new(TelemetryAttributes.MessagingMessageId, entry.DeliveryId),
                new(TelemetryAttributes.Region, entry.Region),
                new(TelemetryAttributes.MailboxAttempt, entry.Attempts),
            ],
            links);
        var started = time.GetTimestamp();
        DeliveryResult result;
        try
        {
            result = await delivery.DeliverAsync(entry, _hardStop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_hardStop.IsCancellationRequested)
        {
            Log.DeliveryThrew(logger, entry.DeliveryId, ex);
            result = DeliveryResult.Failed(DeliveryError.Other);
        }

        metrics.DeliveryDuration(time.GetElapsedTime(started), entry.Region, result.StatusCode);
        if (activity is not null)
        {
            activity.SetTag(TelemetryAttributes.HttpResponseStatusCode, result.StatusCode);
            var verdict = DeliveryVerdict.Of(result);
            if (verdict.Decision != DeliveryDecision.Delivered)
            {
                activity.SetTag(TelemetryAttributes.ErrorType, verdict.FailureReason);
                activity.SetStatus(ActivityStatusCode.Error, verdict.FailureReason);
            }
        }

        return result;
    }

    private async Task RepairIndexesIfDueAsync(CancellationToken cancellationToken)
    {
        if (store is not IMailboxIndexRepair repair || time.GetUtcNow() < _nextRepair)
        {
            return;
        }

        _nextRepair = time.GetUtcNow() + TimeSpan.FromMinutes(options.CurrentValue.Redis.IndexRepairMinutes);
        var repaired = await repair.RepairIndexesAsync(cancellationToken).ConfigureAwait(false);
        if (repaired > 0)
        {
            Log.IndexesRepaired(logger, repaired);
        }
    }

    /// <summary>Renews a lane's lease every third of its duration while the lane is drained.</summary>
    private sealed class LeaseKeeper : IAsyncDisposable
    {
        private readonly IMailboxStore _store;
        private readonly TimeSpan _duration;
        private readonly TimeProvider _time;
        private readonly ILogger _logger;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private volatile MailboxLease _lease;
        private volatile bool _lost;

        public LeaseKeeper(IMailboxStore store, MailboxLease lease, TimeSpan duration, TimeProvider time, ILogger logger)
        {
            _store = store;
            _lease = lease;
            _duration = duration;
            _time = time;
            _logger = logger;
            _loop = RenewAsync();
        }

        public MailboxLease Lease => _lease;

        public bool Lost => _lost;

        public void MarkLost() => _lost = true;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            _stop.Dispose();
        }

        private async Task RenewAsync()
        {
            try
            {
                while (true)
                {
                    await Task.Delay(_duration / 3, _time, _stop.Token).ConfigureAwait(false);
                    try
                    {
                        if (await _store.RenewAsync(_lease, _duration, _stop.Token).ConfigureAwait(false) is { } renewed)
                        {
                            _lease = renewed;
                        }
                        else
                        {
                            _lost = true;
                            Log.LeaseLost(_logger, _lease.Lane);
                            return;
                        }
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        Log.RenewFailed(_logger, _lease.Lane, ex);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Mailbox poll failed; next poll in {Wait}")]
        public static partial void PollFailed(ILogger logger, TimeSpan wait, Exception exception);

        [LoggerMessage(2, LogLevel.Error, "Draining lane {Lane} stopped on an error; it is retried when its lease or backoff runs out")]
        public static partial void DrainFailed(ILogger logger, MailboxLane lane, Exception exception);

        [LoggerMessage(3, LogLevel.Warning, "Could not release lane {Lane}")]
        public static partial void ReleaseFailed(ILogger logger, MailboxLane lane, Exception exception);

        [LoggerMessage(4, LogLevel.Warning, "Lease on lane {Lane} was lost; another drainer owns it now")]
        public static partial void LeaseLost(ILogger logger, MailboxLane lane);

        [LoggerMessage(5, LogLevel.Warning, "Could not renew the lease on lane {Lane}")]
        public static partial void RenewFailed(ILogger logger, MailboxLane lane, Exception exception);

        [LoggerMessage(6, LogLevel.Information, "Delivery {DeliveryId} of lane {Lane} failed ({Reason}, status {Status}) on attempt {Attempt}; next attempt at {NextAttemptAt}")]
        public static partial void WillRetry(ILogger logger, string deliveryId, MailboxLane lane, string reason, int? status, int attempt, DateTimeOffset nextAttemptAt);

        [LoggerMessage(7, LogLevel.Warning, "Delivery {DeliveryId} of lane {Lane} moved to the dead letters ({Reason}, status {Status}, {Attempts} attempts)")]
        public static partial void DeadLettered(ILogger logger, string deliveryId, MailboxLane lane, string reason, int? status, int attempts);

        [LoggerMessage(8, LogLevel.Error, "The mailbox delivery threw for {DeliveryId}; treated as a retryable failure")]
        public static partial void DeliveryThrew(ILogger logger, string deliveryId, Exception exception);

        [LoggerMessage(9, LogLevel.Information, "Mailbox index repair put back {Count} lanes or dead letters")]
        public static partial void IndexesRepaired(ILogger logger, int count);

        [LoggerMessage(11, LogLevel.Error, "Claiming lane {Lane} failed; the other lanes go on and this one is tried again at the next poll")]
        public static partial void ClaimFailed(ILogger logger, MailboxLane lane, Exception exception);

        [LoggerMessage(12, LogLevel.Information, "Delivery {DeliveryId} was no longer in lane {Lane} when its result came (purged, or handled by another drainer); nothing was written and the lane stops here")]
        public static partial void EntryGone(ILogger logger, string deliveryId, MailboxLane lane);

        [LoggerMessage(13, LogLevel.Warning, "The result of delivery {DeliveryId} of lane {Lane} was not written: the lease was lost or the entry purged; the lane stops here")]
        public static partial void EntryGoneOrLeaseLost(ILogger logger, string deliveryId, MailboxLane lane);

        [LoggerMessage(10, LogLevel.Information, "Delivery {DeliveryId} of lane {Lane} was cut short by the shutdown; not counted as an attempt, due again at once")]
        public static partial void SendCancelled(ILogger logger, string deliveryId, MailboxLane lane);
    }
}
