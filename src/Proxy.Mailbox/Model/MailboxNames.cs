namespace Proxy.Mailbox;

/// <summary>
/// Mailbox and region names become parts of Redis keys, SQL rows and admin URLs, so both are kept to a small,
/// printable alphabet: letters, digits and <c>: . _ - @ + =</c> (regions without <c>:</c>).
/// </summary>
internal static class MailboxNames
{
    public const int MaxLength = 200;

    public static void ThrowIfInvalid(MailboxEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ThrowIfInvalidMailbox(entry.Mailbox);
        ThrowIfInvalidRegion(entry.Region);
        if (!Guid.TryParse(entry.DeliveryId, out _))
        {
            throw new ArgumentException($"Delivery id '{entry.DeliveryId}' is not a GUID.", nameof(entry));
        }

        if (string.IsNullOrEmpty(entry.Method) || string.IsNullOrEmpty(entry.PathAndQuery))
        {
            throw new ArgumentException($"Entry {entry.DeliveryId} has no method or path.", nameof(entry));
        }
    }

    public static void ThrowIfInvalidMailbox(string mailbox)
    {
        if (!IsValid(mailbox, allowColon: true))
        {
            throw new ArgumentException($"Mailbox name '{mailbox}' is empty, longer than {MaxLength} or has a character outside [A-Za-z0-9:._-@+=].", nameof(mailbox));
        }
    }

    public static void ThrowIfInvalidRegion(string region)
    {
        if (!IsValid(region, allowColon: false))
        {
            throw new ArgumentException($"Region name '{region}' is empty, longer than {MaxLength} or has a character outside [A-Za-z0-9._-@+=].", nameof(region));
        }
    }

    public static bool IsValid(string? name, bool allowColon)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@' or '+' or '=' || (allowColon && c == ':');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
