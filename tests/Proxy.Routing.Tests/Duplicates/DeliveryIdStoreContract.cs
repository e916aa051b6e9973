using Microsoft.Extensions.Time.Testing;
using Proxy.Routing.Duplicates;

namespace Proxy.Routing.Tests.Duplicates;

/// <summary>What every store of delivery ids must do; each store runs it on its own backing.</summary>
public abstract class DeliveryIdStoreContract
{
    protected static readonly TimeSpan Window = TimeSpan.FromHours(1);

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract IDeliveryIdStore Store { get; }

    [Fact]
    public async Task The_first_claim_wins_and_a_second_within_the_window_is_a_duplicate()
    {
        var first = await Store.TryClaimAsync("github:d1", Window, Ct);
        var second = await Store.TryClaimAsync("github:d1", Window, Ct);

        first.Outcome.Should().Be(ClaimOutcome.Claimed);
        first.Token.Should().NotBeNullOrEmpty();
        second.Outcome.Should().Be(ClaimOutcome.Duplicate);
        (await Store.TryClaimAsync("github_enterprise:d1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Claimed, "keys differ by provider");
    }

    [Fact]
    public async Task A_released_claim_lets_the_retry_through_and_a_stale_token_releases_nothing()
    {
        var first = await Store.TryClaimAsync("slack:Ev1", Window, Ct);
        await Store.ReleaseAsync("slack:Ev1", first.Token!, Ct);
        var retry = await Store.TryClaimAsync("slack:Ev1", Window, Ct);

        retry.Outcome.Should().Be(ClaimOutcome.Claimed);
        await Store.ReleaseAsync("slack:Ev1", first.Token!, Ct);
        (await Store.TryClaimAsync("slack:Ev1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Duplicate,
            "the first claim's token no longer owns the key");
    }

    [Fact]
    public async Task Concurrent_claims_of_one_id_give_exactly_one_winner()
    {
        var claims = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Store.TryClaimAsync("discord:42", Window, Ct).AsTask()));

        claims.Count(c => c.Outcome == ClaimOutcome.Claimed).Should().Be(1);
        claims.Count(c => c.Outcome == ClaimOutcome.Duplicate).Should().Be(15);
    }
}
