using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Proxy.Routing.Regions.Caching;

/// <summary>
/// Bounds every Redis operation of the routing by <c>Redis:OperationTimeout</c>; after a failure or timeout, Redis is
/// skipped for <c>Redis:RetryAfter</c> (the caller gets its fallback at once), then one operation probes it while
/// the others still skip. So a hanging Redis costs one short timeout per period, not one per request.
/// </summary>
internal sealed partial class RedisBreaker(IOptions<RedisOptions> options, TimeProvider time, ILogger<RedisBreaker> logger)
{
    private const long Closed = 0;

    private readonly RedisOptions _settings = options.Value;

    // UTC ticks until which Redis is skipped; Closed when it answers.
    private long _openUntil = Closed;

    public bool IsOpen => Volatile.Read(ref _openUntil) != Closed;

    /// <summary>When the next probe may run, or null while Redis answers.</summary>
    public DateTimeOffset? OpenUntil => Volatile.Read(ref _openUntil) is var until && until == Closed
        ? null
        : new DateTimeOffset(until, TimeSpan.Zero);

    /// <summary>
    /// Runs <paramref name="operation"/> unless Redis is being skipped; its failure or timeout opens the breaker and
    /// yields <paramref name="fallback"/>. The caller's own cancellation is passed on as such.
    /// </summary>
    public async Task<T> RunAsync<T>(string name, Func<CancellationToken, Task<T>> operation, T fallback,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!TryEnter())
        {
            return fallback;
        }

        Task<T> pending;
        try
        {
            pending = operation(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Trip(name, ex);
            return fallback;
        }

        try
        {
            var result = await pending.WaitAsync(_settings.OperationTimeout, time, cancellationToken).ConfigureAwait(false);
            Close();
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(pending);
            throw;
        }
        catch (Exception ex)
        {
            Observe(pending);
            Trip(name, ex);
            return fallback;
        }
    }

    public async Task RunAsync(string name, Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        await RunAsync(name, async token =>
        {
            await operation(token).ConfigureAwait(false);
            return true;
        }, false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>For synchronous calls (bounded by StackExchange.Redis' own <c>SyncTimeout</c>).</summary>
    public T Run<T>(string name, Func<T> operation, T fallback)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!TryEnter())
        {
            return fallback;
        }

        try
        {
            var result = operation();
            Close();
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Trip(name, ex);
            return fallback;
        }
    }

    /// <summary>True when closed, or when this caller won the one probe after the skip period.</summary>
    private bool TryEnter()
    {
        var until = Volatile.Read(ref _openUntil);
        if (until == Closed)
        {
            return true;
        }

        var now = time.GetUtcNow().UtcTicks;
        if (now < until)
        {
            return false;
        }

        // The period is over: one caller probes, the others keep skipping until it reports.
        return Interlocked.CompareExchange(ref _openUntil, now + _settings.RetryAfter.Ticks, until) == until;
    }

    private void Close()
    {
        if (Interlocked.Exchange(ref _openUntil, Closed) != Closed)
        {
            LogClosed(logger);
        }
    }

    private void Trip(string name, Exception exception)
    {
        var until = time.GetUtcNow().UtcTicks + _settings.RetryAfter.Ticks;
        if (Interlocked.Exchange(ref _openUntil, until) == Closed)
        {
            LogOpened(logger, name, _settings.RetryAfter, exception);
        }
    }

    /// <summary>A timed-out operation may still fail later: observe it, so that nothing is reported as unobserved.</summary>
    private static void Observe(Task pending)
        => _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning,
        Message = "Redis failed or did not answer ({Operation}); it is skipped for {RetryAfter} and routing continues from memory and control")]
    private static partial void LogOpened(ILogger logger, string operation, TimeSpan retryAfter, Exception exception);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "Redis answers again; the shared directory cache is back")]
    private static partial void LogClosed(ILogger logger);
}
