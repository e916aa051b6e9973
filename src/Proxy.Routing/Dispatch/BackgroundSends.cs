using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Sends that outlive the answer to the sender (fan-out legs still running, deferred answers). On shutdown the host
/// stops Kestrel first, then waits here for these to finish, within its shutdown timeout.
/// </summary>
internal sealed partial class BackgroundSends(ILogger<BackgroundSends> logger) : IHostedService
{
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();

    public int InFlight => _inFlight.Count;

    public void Track(Task work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.IsCompleted)
        {
            return;
        }

        _inFlight.TryAdd(work, 0);
        _ = work.ContinueWith((done, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(done, out _), _inFlight,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_inFlight.Keys).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            LogAbandoned(logger, _inFlight.Count);
        }
        catch (Exception ex)
        {
            // The sends report their own failures; stopping must not fail because one of them did.
            LogFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Stopped with {Count} region sends still in flight")]
    private static partial void LogAbandoned(ILogger logger, int count);

    [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "A region send failed while the proxy was stopping")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
