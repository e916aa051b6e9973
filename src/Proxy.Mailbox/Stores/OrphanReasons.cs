namespace Proxy.Mailbox;

/// <summary>Why a delivery id was taken out of its lane without a delivery (the <c>reason</c> tag of <c>mailbox.orphans</c>).</summary>
internal static class OrphanReasons
{
    /// <summary>The id was in the lane but its entry is gone (Redis eviction, an operator's DEL): nothing left to deliver.</summary>
    public const string Missing = "missing";

    /// <summary>The entry is there but a field is absent or unreadable: it is moved to the dead letters with this reason.</summary>
    public const string Damaged = "damaged";
}
