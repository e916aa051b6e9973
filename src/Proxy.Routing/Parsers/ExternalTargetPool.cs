using System.Text;
using System.Text.Unicode;

namespace Proxy.Routing.Parsers;

/// <summary>
/// The integration targets one provider's webhooks named recently, so a webhook of an integration seen before costs
/// no id string and no target object. A fixed number of slots bounds the memory whatever senders send: a colliding
/// id replaces the one in its slot, and races between threads only cost a miss (a slot holds a whole target or none).
/// </summary>
internal sealed class ExternalTargetPool(string provider)
{
    private const int SlotCount = 1024;
    private const int MaxPooledLength = 64;
    private readonly RoutingTarget.ExternalIntegration?[] _slots = new RoutingTarget.ExternalIntegration?[SlotCount];

    public string Provider { get; } = provider;

    /// <summary>The target for an id given as UTF-8 bytes; null when they are not valid UTF-8.</summary>
    public RoutingTarget.ExternalIntegration? Get(ReadOnlySpan<byte> utf8Id)
    {
        // Ids are ASCII for every provider; anything else (or anything long) is decoded and not pooled.
        if (utf8Id.Length > MaxPooledLength || !Ascii.IsValid(utf8Id))
        {
            return Utf8.IsValid(utf8Id)
                ? new RoutingTarget.ExternalIntegration(Provider, Encoding.UTF8.GetString(utf8Id))
                : null;
        }

        var hash = new HashCode();
        hash.AddBytes(utf8Id);
        ref var slot = ref _slots[hash.ToHashCode() & (SlotCount - 1)];
        var pooled = Volatile.Read(ref slot);
        if (pooled is not null && Ascii.Equals(utf8Id, pooled.ExternalId))
        {
            return pooled;
        }

        var created = new RoutingTarget.ExternalIntegration(Provider, Encoding.ASCII.GetString(utf8Id));
        Volatile.Write(ref slot, created);
        return created;
    }
}
