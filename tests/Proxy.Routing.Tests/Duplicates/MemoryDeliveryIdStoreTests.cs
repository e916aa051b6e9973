using Proxy.Routing.Duplicates;

namespace Proxy.Routing.Tests.Duplicates;

public sealed class MemoryDeliveryIdStoreTests : DeliveryIdStoreContract
{
    private readonly MemoryDeliveryIdStore _store;

    public MemoryDeliveryIdStoreTests() => _store = new MemoryDeliveryIdStore(capacity: 3, Time);

    private protected override IDeliveryIdStore Store => _store;

    [Fact]
    public async Task An_id_is_forgotten_once_the_window_has_passed()
    {
        await _store.TryClaimAsync("github:d1", Window, Ct);

        Time.Advance(Window - TimeSpan.FromTicks(1));
        (await _store.TryClaimAsync("github:d1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Duplicate);
        Time.Advance(TimeSpan.FromTicks(1));
        (await _store.TryClaimAsync("github:d1", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Claimed);
    }

    [Fact]
    public async Task When_full_the_oldest_ids_are_forgotten_first()
    {
        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            (await _store.TryClaimAsync($"gitlab:{id}", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Claimed);
        }

        _store.Count.Should().Be(3);
        (await _store.TryClaimAsync("gitlab:d", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Duplicate);
        (await _store.TryClaimAsync("gitlab:a", Window, Ct)).Outcome.Should().Be(ClaimOutcome.Claimed, "a was the oldest");
    }

    [Fact]
    public async Task Expired_ids_are_dropped_as_claims_go_by()
    {
        await _store.TryClaimAsync("jira:1", Window, Ct);
        await _store.TryClaimAsync("jira:2", Window, Ct);
        Time.Advance(Window);

        await _store.TryClaimAsync("jira:3", Window, Ct);

        _store.Count.Should().Be(1);
    }
}
