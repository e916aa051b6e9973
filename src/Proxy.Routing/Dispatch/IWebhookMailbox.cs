namespace Proxy.Routing.Dispatch;

/// <summary>
/// Where mailbox-bound webhooks are stored. <see cref="AcceptAsync"/> returns only once every region's entry is
/// durably stored, and throws when it could not store them: the sender then gets 503 and retries, so nothing
/// acknowledged is ever lost.
/// </summary>
public interface IWebhookMailbox
{
    /// <param name="request">The webhook as the route's transforms send it (forwarding headers included).</param>
    /// <param name="body">The body bytes exactly as received.</param>
    /// <param name="provider">The provider key, first part of the mailbox name.</param>
    /// <param name="identifier">The rest of the mailbox name: integration or organization id, then any suffix.</param>
    /// <param name="bucketId">Picks a bucket while a busy integration is bucketed; null never buckets.</param>
    /// <returns>The mailbox name the entries went to.</returns>
    Task<string> AcceptAsync(StoredRequest request, ReadOnlyMemory<byte> body, string provider, string identifier, long? bucketId,
        IReadOnlyList<string> regions, CancellationToken cancellationToken);
}
