using System.Text;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Tests.Parsers;

public class ExternalTargetPoolTests
{
    private readonly ExternalTargetPool _pool = new("github");

    [Fact]
    public void Ids_that_share_a_slot_replace_each_other_and_each_comes_back_right()
    {
        // More ids than slots: collisions happen, and every answer must still name its own id.
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 5000; i++)
            {
                _pool.Get(Encoding.ASCII.GetBytes($"id-{i}"))!.ExternalId.Should().Be($"id-{i}");
            }
        }
    }

    [Fact]
    public void A_long_or_non_ASCII_id_is_decoded_and_not_pooled()
    {
        var long1 = new string('a', 100);
        _pool.Get(Encoding.UTF8.GetBytes(long1))!.ExternalId.Should().Be(long1);
        _pool.Get(Encoding.UTF8.GetBytes("é1")).Should().NotBeSameAs(_pool.Get(Encoding.UTF8.GetBytes("é1")));
        _pool.Get(Encoding.UTF8.GetBytes("é1"))!.Should().Be(new RoutingTarget.ExternalIntegration("github", "é1"));
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_give_no_target()
        => _pool.Get([0x41, 0xFF]).Should().BeNull();
}
