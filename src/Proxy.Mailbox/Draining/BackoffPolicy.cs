namespace Proxy.Mailbox;

/// <summary>The retry schedule: <c>min(InitialMinutes x Rate^attempts, MaxMinutes)</c> after the attempt-th send.</summary>
internal static class BackoffPolicy
{
    public static TimeSpan DelayAfter(int attempts, MailboxBackoffOptions options)
    {
        var minutes = options.InitialMinutes * Math.Pow(options.Rate, attempts);
        minutes = double.IsFinite(minutes) ? Math.Min(minutes, options.MaxMinutes) : options.MaxMinutes;
        // Whole milliseconds, as stored: 3 x 1.4 is 4.1999... in binary and would otherwise land 1 ms early.
        return TimeSpan.FromMilliseconds(Math.Round(minutes * 60_000));
    }

    /// <summary>The next attempt after a failure: the backoff, or later when the region asked for it (capped).</summary>
    public static DateTimeOffset NotBefore(DateTimeOffset now, TimeSpan? retryAfter, MailboxBackoffOptions options)
    {
        if (retryAfter is not { } wait)
        {
            return DateTimeOffset.MinValue;
        }

        var cap = TimeSpan.FromMinutes(options.MaxRetryAfterMinutes);
        return now + (wait > cap ? cap : wait);
    }
}
