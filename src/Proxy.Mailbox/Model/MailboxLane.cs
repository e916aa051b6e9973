namespace Proxy.Mailbox;

/// <summary>
/// The unit of ordering and of leasing: the entries of one mailbox for one region, delivered strictly in order.
/// Each region of a mailbox has its own lane, so a region that is down holds back only its own deliveries.
/// </summary>
internal sealed record MailboxLane(string Mailbox, string Region)
{
    public override string ToString() => Region + "/" + Mailbox;
}

/// <summary>A claim on a lane: while it holds, no other drainer (in this process or another replica) drains the lane.</summary>
internal sealed record MailboxLease(MailboxLane Lane, string Token, DateTimeOffset ExpiresAt);

/// <summary>Why an entry left its lane without being delivered.</summary>
/// <param name="Reason">A failure reason (<c>not_found</c>, <c>conflict</c>, ...), <c>attempts_exceeded</c> or <c>max_age</c>.</param>
/// <param name="LastStatus">The region's last HTTP status, when it answered.</param>
/// <param name="LastError">The last transport error (<c>timeout</c>, <c>connection</c>, ...), when it did not.</param>
internal sealed record DeadLetterCause(string Reason, int? LastStatus, string? LastError);

internal sealed record DeadLetter(MailboxEntry Entry, DeadLetterCause Cause, DateTimeOffset DeadAt);

/// <param name="OldestReceivedAt">When the head entry (the oldest in line) was received.</param>
internal sealed record MailboxSummary(
    MailboxLane Lane,
    long Depth,
    DateTimeOffset OldestReceivedAt,
    int HeadAttempts,
    DateTimeOffset HeadNextAttemptAt);

/// <param name="OldestReceivedAt">The oldest received-at among the heads of all lanes; null when nothing is pending.</param>
internal sealed record MailboxStats(long Pending, long DeadLetters, DateTimeOffset? OldestReceivedAt);

/// <summary>What an operator action on a mailbox's lanes found and did.</summary>
/// <param name="Lanes">Lanes of the mailbox (or of the one region) that held pending entries.</param>
/// <param name="Entries">Entries made due (retry) or deleted (purge).</param>
internal sealed record MailboxLaneChange(int Lanes, long Entries);
