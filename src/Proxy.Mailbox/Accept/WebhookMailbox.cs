using Proxy.Routing.Dispatch;

namespace Proxy.Mailbox;

/// <summary>Routing's mailbox mode, served by the store: name the mailbox, store one entry per region, wake the drainer.</summary>
internal sealed class WebhookMailbox(IMailboxNamer namer, IMailboxStore store, IMailboxSignal signal, TimeProvider time) : IWebhookMailbox
{
    public async Task<string> AcceptAsync(StoredRequest request, ReadOnlyMemory<byte> body, string provider, string identifier,
        long? bucketId, IReadOnlyList<string> regions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var mailbox = await namer.MailboxForAsync(provider, identifier, bucketId, cancellationToken);
        var entries = MailboxEntry.ForRegions(mailbox, regions, request.Method, request.PathAndQuery, request.Headers, body,
            time.GetUtcNow());
        await store.AppendAsync(entries, cancellationToken);
        signal.Notify(mailbox);
        return mailbox;
    }
}
