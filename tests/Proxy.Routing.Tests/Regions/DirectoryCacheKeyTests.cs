using Proxy.Routing.Regions.Control;

namespace Proxy.Routing.Tests.Regions;

public class DirectoryCacheKeyTests
{
    [Fact]
    public void A_plain_id_appears_as_it_is()
        => DirectoryCacheTags.ExternalKey("Slack", "T123").Should().Be("directory:integration:slack:T123");

    [Theory]
    [InlineData("T\u0001\u0002")]
    [InlineData("T é")]
    [InlineData("sha256-abc")]
    public void Other_ids_are_hashed_into_printable_keys(string id)
    {
        var key = DirectoryCacheTags.ExternalKey("slack", id);

        key.Should().MatchRegex("^directory:integration:slack:sha256-[0-9a-f]{64}$");
        DirectoryCacheTags.External("slack", id).Should().EndWith(key["directory:integration:".Length..]);
    }

    [Fact]
    public void Long_ids_are_hashed_and_distinct_ids_stay_distinct()
    {
        var a = DirectoryCacheTags.ExternalKey("slack", new string('a', 5000));
        var b = DirectoryCacheTags.ExternalKey("slack", new string('a', 4999) + "b");

        a.Length.Should().BeLessThan(128);
        a.Should().NotBe(b);
    }
}
