using Microsoft.Extensions.Options;
using Proxy.Routing.Dispatch;

namespace Proxy.Mailbox;

/// <summary>
/// Routing's mailbox mode, served by the store: name the mailbox, store one entry per region, wake the drainer, all
/// within <see cref="MailboxOptions.AcceptTimeout"/>: a store that is down or hanging turns into a prompt 503 for the
/// sender (GitHub gives up after 10 s) instead of a wait for every Redis timeout in turn.
/// </summary>
internal sealed class WebhookMailbox(
    IMailboxNamer namer,
    IMailboxStore store,
    IMailboxSignal signal,
    IOptionsMonitor<MailboxOptions> options,
    TimeProvider time,
    RedisEvictionGate? evictionGate = null) : IWebhookMailbox
{
    public async Task<string> AcceptAsync(StoredRequest request, ReadOnlyMemory<byte> body, string provider, string identifier,
        long? bucketId, IReadOnlyList<string> regions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // A Redis whose eviction policy is not known to be safe stores nothing (503: the sender retries).
        evictionGate?.ThrowIfClosed();
        var limit = options.CurrentValue.AcceptTimeout;
        using var expired = new CancellationTokenSource(limit, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expired.Token);
        try
        {
            // The Redis client does not give up on a command when its token is cancelled: the wait is bounded here too.
            return await StoreAsync(request, body, provider, identifier, bucketId, regions, linked.Token)
                .WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (expired.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the mailbox store did not store the webhook within Mailbox:AcceptTimeout ({limit})");
        }
    }

    private async Task<string> StoreAsync(StoredRequest request, ReadOnlyMemory<byte> body, string provider, string identifier,
        long? bucketId, IReadOnlyList<string> regions, CancellationToken cancellationToken)
    {
        var mailbox = await namer.MailboxForAsync(provider, identifier, bucketId, cancellationToken).ConfigureAwait(false);
        var entries = MailboxEntry.ForRegions(mailbox, regions, request.Method, request.PathAndQuery, request.Headers, body,
            time.GetUtcNow());
        await store.AppendAsync(entries, cancellationToken).ConfigureAwait(false);
        signal.Notify(mailbox);
        return mailbox;
    }
}
