namespace Proxy.Mailbox;

/// <summary>
/// Durable storage of mailbox entries, leases and dead letters. Two implementations share one contract:
/// SQLite (one node) and Redis (several replicas, Redis Cluster ready).
/// </summary>
internal interface IMailboxStore
{
    /// <summary>
    /// Stores the entries of one accepted webhook (all with the same mailbox name, one per region), all or none,
    /// each at the tail of its lane. When the task completes the entries are durable; on any failure it throws and
    /// nothing was stored, so the accept path answers 503 and the sender retries. Concurrent calls share one durable
    /// write (group commit); each completes only after the write that holds its own entries. A webhook for several
    /// regions with one body is stored with that body once, referenced by each region's entry.
    /// </summary>
    Task AppendAsync(IReadOnlyList<MailboxEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lanes that are due and which no live lease holds, oldest first where the store can tell. A strict lane is due
    /// when its head is; a due-head lane (<see cref="MailboxOrdering"/>) when any of its entries is.
    /// </summary>
    Task<IReadOnlyList<MailboxLane>> GetDueLanesAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims a lane that is due (its head, or for a due-head lane any entry); null when it is empty, not due, or leased by someone else. The lease runs out
    /// after <paramref name="duration"/> on the store's clock (the app's for SQLite, Redis's own for Redis).
    /// </summary>
    Task<MailboxLease?> TryClaimAsync(MailboxLane lane, TimeSpan duration, CancellationToken cancellationToken = default);

    /// <summary>
    /// Extends a lease still held; null when it was lost: claimed by another owner after it expired, or (Redis, whose
    /// leases run out on its own clock) expired at all.
    /// </summary>
    Task<MailboxLease?> RenewAsync(MailboxLease lease, TimeSpan duration, CancellationToken cancellationToken = default);

    /// <summary>Gives the lane back; it becomes due again when its head is.</summary>
    Task ReleaseAsync(MailboxLease lease, CancellationToken cancellationToken = default);

    /// <summary>The first <paramref name="count"/> entries of a lane, head first.</summary>
    Task<IReadOnlyList<MailboxEntry>> PeekAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default);

    /// <summary>
    /// The first <paramref name="count"/> entries of a lane that are due now, in lane order: the entries in backoff are
    /// passed over (what a due-head drain works through). May return fewer than are due when a great many entries in
    /// backoff come first (Redis looks past at most <see cref="RedisMailboxScripts.DueScanLimit"/> per call).
    /// </summary>
    Task<IReadOnlyList<MailboxEntry>> PeekDueAsync(MailboxLane lane, int count, CancellationToken cancellationToken = default);

    /// <summary>Counts an attempt (attempts + 1) and sets the next attempt; false when the lease was lost or the entry is gone.</summary>
    Task<bool> RescheduleAsync(MailboxLease lease, string deliveryId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default);

    /// <summary>Moves the next attempt to at least <paramref name="notBefore"/> without counting an attempt (Retry-After).</summary>
    Task<bool> PostponeAsync(MailboxLease lease, string deliveryId, DateTimeOffset notBefore, CancellationToken cancellationToken = default);

    /// <summary>Deletes a delivered entry; false when it was not in the lane.</summary>
    Task<bool> AckAsync(MailboxLane lane, string deliveryId, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="AckAsync"/> for several delivered entries of one lane, in the order given: per id, true when it was
    /// deleted, false when it was not in the lane. A store may do them in one call (Redis: one script).
    /// </summary>
    async Task<IReadOnlyList<bool>> AckManyAsync(MailboxLane lane, IReadOnlyList<string> deliveryIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveryIds);
        var done = new bool[deliveryIds.Count];
        for (var i = 0; i < done.Length; i++)
        {
            done[i] = await AckAsync(lane, deliveryIds[i], cancellationToken).ConfigureAwait(false);
        }

        return done;
    }

    /// <summary>Moves an entry from its lane to the dead letters; false when it was not in the lane.</summary>
    Task<bool> DeadLetterAsync(MailboxLane lane, string deliveryId, DeadLetterCause cause, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<MailboxSummary>> ListMailboxesAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>Dead letters, oldest first, of one mailbox or of all.</summary>
    Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string? mailbox, int limit, CancellationToken cancellationToken = default);

    /// <summary>Moves a dead letter back to the tail of its lane, attempts reset, due now; false when there is no such dead letter.</summary>
    Task<bool> ReplayDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default);

    /// <summary>Deletes a dead letter for good; false when there is no such dead letter.</summary>
    Task<bool> PurgeDeadLetterAsync(string deliveryId, CancellationToken cancellationToken = default);

    Task<MailboxStats> GetStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes every waiting entry of a mailbox's lanes (of one region, or of all when <paramref name="region"/> is null)
    /// due now: the backoff is cleared, attempts are kept. A lane leased by a drainer stays leased; its next write wins
    /// for the entry it is sending.
    /// </summary>
    Task<MailboxLaneChange> RetryNowAsync(string mailbox, string? region, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every pending entry of a mailbox's lanes (of one region, or of all), leased or not; dead letters stay.
    /// A drainer working such a lane finds its entries gone: its acknowledgement, reschedule or dead-lettering of an
    /// entry that was purged changes nothing and stops the lane, so nothing comes back.
    /// </summary>
    Task<MailboxLaneChange> PurgeLanesAsync(string mailbox, string? region, CancellationToken cancellationToken = default);
}
