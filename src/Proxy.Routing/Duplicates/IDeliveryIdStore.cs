namespace Proxy.Routing.Duplicates;

/// <summary>
/// Where delivery ids are remembered. A claim is atomic: of two webhooks with the same key, one gets
/// <see cref="ClaimOutcome.Claimed"/> and the other <see cref="ClaimOutcome.Duplicate"/>, until the window passes or
/// the claim is released. A store that cannot answer says <see cref="ClaimOutcome.Unavailable"/> (or throws); the
/// webhook is then delivered without the check, never refused.
/// </summary>
public interface IDeliveryIdStore
{
    /// <summary>Names the store in logs and metrics: <c>redis</c>, <c>sqlite</c> or <c>memory</c>.</summary>
    string Kind { get; }

    /// <summary>Claims <paramref name="key"/> for <paramref name="window"/> unless a live claim holds it.</summary>
    ValueTask<DeliveryClaim> TryClaimAsync(string key, TimeSpan window, CancellationToken cancellationToken);

    /// <summary>Forgets the claim, if it is still the one <paramref name="token"/> names, so that a retry is delivered.</summary>
    ValueTask ReleaseAsync(string key, string token, CancellationToken cancellationToken);
}

public enum ClaimOutcome
{
    /// <summary>First sight of the id: deliver, and release the claim if delivery fails.</summary>
    Claimed,

    /// <summary>The id was accepted within the window: answer, store and forward nothing.</summary>
    Duplicate,

    /// <summary>The store did not answer: deliver without duplicate suppression.</summary>
    Unavailable,
}

/// <summary>The answer of a claim; <paramref name="Token"/> identifies a <see cref="ClaimOutcome.Claimed"/> claim for its release.</summary>
public readonly record struct DeliveryClaim(ClaimOutcome Outcome, string? Token = null)
{
    public static DeliveryClaim Duplicate { get; } = new(ClaimOutcome.Duplicate);

    public static DeliveryClaim Unavailable { get; } = new(ClaimOutcome.Unavailable);

    public static DeliveryClaim NewClaim() => new(ClaimOutcome.Claimed, Guid.NewGuid().ToString("N"));
}
