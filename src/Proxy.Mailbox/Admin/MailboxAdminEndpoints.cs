using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Proxy.Routing.Admin;

namespace Proxy.Mailbox;

/// <summary>
/// Operator endpoints under <c>/admin/mailbox</c>: lanes and their depth, retrying a mailbox's lanes now and purging
/// them, dead letters, replay and purge.
/// Every call needs <c>X-Admin-Key</c> equal to <c>Admin:ApiKey</c> (or its alias <c>Mailbox:Admin:ApiKey</c>); with no key configured the endpoints
/// are disabled and answer 404. Errors are RFC 9457 problem details.
/// </summary>
public static class MailboxAdminEndpoints
{
    public const string ApiKeyHeader = AdminKey.Header;

    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;
    private const string ProblemBase = "urn:edge-proxy:problem:mailbox-";

    public static RouteGroupBuilder MapMailboxAdmin(this IEndpointRouteBuilder endpoints, string prefix = "/admin/mailbox")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(prefix);
        // The key every admin endpoint shares (Admin:ApiKey, or Mailbox:Admin:ApiKey as its alias).
        group.AddEndpointFilter(async (context, next) =>
            await AdminKey.AuthorizeAsync(context.HttpContext, context.HttpContext.RequestServices.GetRequiredService<IConfiguration>())
                .ConfigureAwait(false)
                ? await next(context).ConfigureAwait(false)
                : Results.Empty);

        // Totals over every lane: what the depth and oldest-age gauges report.
        group.MapGet("/stats", async (IMailboxStore store, TimeProvider time, CancellationToken cancellationToken) =>
        {
            var stats = await store.GetStatsAsync(cancellationToken).ConfigureAwait(false);
            return Results.Ok(new MailboxTotals(stats.Pending, stats.DeadLetters,
                stats.OldestReceivedAt is { } oldest ? Math.Max(0, (time.GetUtcNow() - oldest).TotalSeconds) : null));
        });

        group.MapGet("/mailboxes", async (IMailboxStore store, TimeProvider time, int? limit, CancellationToken cancellationToken) =>
        {
            if (LimitProblem(limit) is { } problem)
            {
                return problem;
            }

            var now = time.GetUtcNow();
            var lanes = await store.ListMailboxesAsync(limit ?? DefaultLimit, cancellationToken).ConfigureAwait(false);
            return Results.Ok(new MailboxList(lanes.Select(s => new MailboxView(
                s.Lane.Mailbox, s.Lane.Region, s.Depth, Math.Max(0, (now - s.OldestReceivedAt).TotalSeconds), s.HeadAttempts, s.HeadNextAttemptAt)).ToList()));
        });

        // Every waiting entry of the mailbox's lanes (or of one region's) due at once: backoff cleared, attempts kept.
        group.MapPost("/mailboxes/{mailbox}/retry", async (IMailboxStore store, IMailboxSignal signal, string mailbox, string? region,
            CancellationToken cancellationToken) =>
        {
            if (LaneProblem(mailbox, region) is { } problem)
            {
                return problem;
            }

            var change = await store.RetryNowAsync(mailbox, region, cancellationToken).ConfigureAwait(false);
            if (change.Lanes == 0)
            {
                return NoSuchLane(mailbox, region);
            }

            signal.Notify(mailbox);
            return Results.Ok(new RetryResult(mailbox, region, change.Lanes, change.Entries));
        });

        // Deletes every pending entry of the mailbox's lanes (or of one region's), leased ones included; dead letters stay.
        group.MapDelete("/mailboxes/{mailbox}", async (IMailboxStore store, string mailbox, string? region, CancellationToken cancellationToken) =>
        {
            if (LaneProblem(mailbox, region) is { } problem)
            {
                return problem;
            }

            var change = await store.PurgeLanesAsync(mailbox, region, cancellationToken).ConfigureAwait(false);
            return change.Lanes == 0
                ? NoSuchLane(mailbox, region)
                : Results.Ok(new PurgeResult(mailbox, region, change.Lanes, change.Entries));
        });

        group.MapGet("/dead-letters", async (IMailboxStore store, string? mailbox, int? limit, CancellationToken cancellationToken) =>
        {
            if (LimitProblem(limit) is { } problem)
            {
                return problem;
            }

            if (mailbox is not null && !MailboxNames.IsValid(mailbox, allowColon: true))
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid-mailbox", "Invalid mailbox name", $"'{mailbox}' is not a mailbox name.");
            }

            var letters = await store.ListDeadLettersAsync(mailbox, limit ?? DefaultLimit, cancellationToken).ConfigureAwait(false);
            return Results.Ok(new DeadLetterList(letters.Select(d => new DeadLetterView(
                d.Entry.DeliveryId, d.Entry.Mailbox, d.Entry.Region, d.Entry.Method, d.Entry.PathAndQuery, d.Entry.ReceivedAt,
                d.Entry.Attempts, d.Cause.Reason, d.Cause.LastStatus, d.Cause.LastError, d.DeadAt, d.Entry.Body.Length)).ToList()));
        });

        // Bulk replay: the dead letters of one mailbox (or all) that died within [since, until), oldest received first,
        // at most limit of them a call; "more" says another call would find further ones.
        group.MapPost("/dead-letters/replay", async (IMailboxStore store, IMailboxSignal signal, string? mailbox, DateTimeOffset? since,
            DateTimeOffset? until, int? limit, CancellationToken cancellationToken) =>
        {
            if (LimitProblem(limit) is { } problem)
            {
                return problem;
            }

            if (mailbox is not null && !MailboxNames.IsValid(mailbox, allowColon: true))
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid-mailbox", "Invalid mailbox name", $"'{mailbox}' is not a mailbox name.");
            }

            if (since is { } from && until is { } to && to <= from)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid-time-range", "Invalid time range", $"until ({to:O}) must be after since ({from:O}).");
            }

            var letters = await store.ListDeadLettersAsync(mailbox, MaxLimit, cancellationToken).ConfigureAwait(false);
            var chosen = letters.Where(d => (since is null || d.DeadAt >= since) && (until is null || d.DeadAt < until))
                .OrderBy(d => d.Entry.ReceivedAt).ToList();
            var take = limit ?? DefaultLimit;
            var replayed = new List<string>();
            foreach (var letter in chosen.Take(take))
            {
                if (await store.ReplayDeadLetterAsync(letter.Entry.DeliveryId, cancellationToken).ConfigureAwait(false))
                {
                    replayed.Add(letter.Entry.DeliveryId);
                }
            }

            if (replayed.Count > 0)
            {
                signal.Notify("");
            }

            return Results.Ok(new BulkReplayResult(replayed.Count, replayed, chosen.Count > take || letters.Count == MaxLimit));
        });

        group.MapPost("/dead-letters/{deliveryId}/replay", async (IMailboxStore store, IMailboxSignal signal, string deliveryId, CancellationToken cancellationToken) =>
        {
            if (!await store.ReplayDeadLetterAsync(deliveryId, cancellationToken).ConfigureAwait(false))
            {
                return NoSuchDeadLetter(deliveryId);
            }

            signal.Notify("");
            return Results.Ok(new ReplayResult(deliveryId, "replayed"));
        });

        group.MapDelete("/dead-letters/{deliveryId}", async (IMailboxStore store, string deliveryId, CancellationToken cancellationToken) =>
            await store.PurgeDeadLetterAsync(deliveryId, cancellationToken).ConfigureAwait(false)
                ? Results.NoContent()
                : NoSuchDeadLetter(deliveryId));

        return group;
    }

    private static IResult? LimitProblem(int? limit) =>
        limit is < 1 or > MaxLimit
            ? Problem(StatusCodes.Status400BadRequest, "invalid-limit", "Invalid limit", $"limit must be between 1 and {MaxLimit} (got {limit}).")
            : null;

    private static IResult? LaneProblem(string mailbox, string? region)
    {
        if (!MailboxNames.IsValid(mailbox, allowColon: true))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid-mailbox", "Invalid mailbox name", $"'{mailbox}' is not a mailbox name.");
        }

        return region is not null && !MailboxNames.IsValid(region, allowColon: false)
            ? Problem(StatusCodes.Status400BadRequest, "invalid-region", "Invalid region name", $"'{region}' is not a region name.")
            : null;
    }

    private static IResult NoSuchLane(string mailbox, string? region) =>
        Problem(StatusCodes.Status404NotFound, "lane-not-found", "No pending entries",
            region is null ? $"Mailbox '{mailbox}' has no pending entries." : $"Mailbox '{mailbox}' has no pending entries for region '{region}'.");

    private static IResult NoSuchDeadLetter(string deliveryId) =>
        Problem(StatusCodes.Status404NotFound, "dead-letter-not-found", "No such dead letter", $"There is no dead letter with delivery id '{deliveryId}'.");

    private static IResult Problem(int status, string type, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title, type: ProblemBase + type);

    private sealed record MailboxList(IReadOnlyList<MailboxView> Mailboxes);

    private sealed record MailboxTotals(long Pending, long DeadLetters, double? OldestAgeSeconds);

    private sealed record MailboxView(string Mailbox, string Region, long Depth, double OldestAgeSeconds, int HeadAttempts, DateTimeOffset HeadNextAttemptAt);

    private sealed record DeadLetterList(IReadOnlyList<DeadLetterView> DeadLetters);

    private sealed record DeadLetterView(
        string DeliveryId, string Mailbox, string Region, string Method, string Path, DateTimeOffset ReceivedAt, int Attempts,
        string Reason, int? LastStatus, string? LastError, DateTimeOffset DeadAt, int BodyBytes);

    private sealed record ReplayResult(string DeliveryId, string Status);

    private sealed record RetryResult(string Mailbox, string? Region, int Lanes, long Retried);

    private sealed record PurgeResult(string Mailbox, string? Region, int Lanes, long Purged);

    private sealed record BulkReplayResult(int Replayed, IReadOnlyList<string> DeliveryIds, bool More);
}
