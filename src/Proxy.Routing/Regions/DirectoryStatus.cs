namespace Proxy.Routing.Regions;

/// <summary>
/// The statuses an organization or integration may have (the reference's <c>ObjectStatus</c> and integration
/// statuses). Only <c>active</c> routes; any other known status takes the entry out of routing.
/// </summary>
internal static class DirectoryStatus
{
    public const string Active = "active";

    public static IReadOnlyList<string> Known { get; } = [Active, "disabled", "pending_deletion", "deletion_in_progress", "pending_removal"];

    public static bool IsKnown(string status)
    {
        foreach (var known in Known)
        {
            if (string.Equals(status, known, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public static bool IsActive(string? status) => string.Equals(status, Active, StringComparison.OrdinalIgnoreCase);
}
