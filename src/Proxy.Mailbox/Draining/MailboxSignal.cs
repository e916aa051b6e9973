namespace Proxy.Mailbox;

/// <summary>An auto-reset wake-up for the drainer loop: any number of notifications before a wait wake it once.</summary>
internal sealed class MailboxSignal : IMailboxSignal
{
    private TaskCompletionSource _wake = New();

    public void Notify(string mailbox) => Volatile.Read(ref _wake).TrySetResult();

    /// <summary>Returns when notified or after <paramref name="timeout"/>; consumes the notification.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _wake);
        if (!current.Task.IsCompleted)
        {
            using var delayCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(timeout, time, delayCancellation.Token);
            await Task.WhenAny(current.Task, delay).ConfigureAwait(false);
            await delayCancellation.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        Interlocked.CompareExchange(ref _wake, New(), current);
    }

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
