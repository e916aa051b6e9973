namespace Proxy.Billing.Tests.Support;

internal static class Ids
{
    private static long _next = Environment.ProcessId * 1_000_000L;

    /// <summary>An organization id no other test of this run uses.</summary>
    public static long NewOrganization() => Interlocked.Increment(ref _next);
}
