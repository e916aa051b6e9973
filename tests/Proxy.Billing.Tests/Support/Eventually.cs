namespace Proxy.Billing.Tests.Support;

internal static class Eventually
{
    /// <summary>Polls until the condition holds; fails after a generous limit (a hang guard, not a timing assertion).</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, int limitSeconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(limitSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting: {what}");
            }

            await Task.Delay(20);
        }
    }
}
