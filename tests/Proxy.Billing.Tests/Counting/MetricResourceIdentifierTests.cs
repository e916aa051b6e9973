using Proxy.Billing.Counting;

namespace Proxy.Billing.Tests.Counting;

public sealed class MetricResourceIdentifierTests
{
    [Theory]
    [InlineData("d:transactions/duration@millisecond", "d", "transactions", "duration", "millisecond", false)]
    [InlineData("c:spans/usage@none", "c", "spans", "usage", "none", false)]
    [InlineData("c:custom/user_click@none", "c", "custom", "user_click", "none", true)]
    [InlineData("d:custom/page_load@ms", "d", "custom", "page_load", "ms", true)]
    [InlineData("d:transactions/measurements.lcp@millisecond", "d", "transactions", "measurements.lcp", "millisecond", false)]
    [InlineData("e:ns:x/a/b@u@v", "e", "ns:x", "a/b", "u@v", false)]
    [InlineData("c:custom/x@none\n", "c", "custom", "x", "none", true)]
    internal void Parses_like_the_reference_regex(string text, string entity, string ns, string name, string unit, bool custom)
    {
        MetricResourceIdentifier.TryParse(text, out var mri).Should().BeTrue();

        mri.Should().Be(new MetricResourceIdentifier(entity, ns, name, unit));
        mri.IsCustom.Should().Be(custom);
        MetricResourceIdentifier.IsCustomMetric(text).Should().Be(custom);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("custom")]
    [InlineData(":custom/x@none")]
    [InlineData("c:/x@none")]
    [InlineData("c:custom/@none")]
    [InlineData("c:custom/x@")]
    [InlineData("c:custom/x")]
    [InlineData("c:custom/x@no\nne")]
    [InlineData("c:custom/x@none\n\n")]
    internal void Rejects_what_the_reference_regex_does_not_match(string? text)
    {
        MetricResourceIdentifier.TryParse(text, out _).Should().BeFalse();
        MetricResourceIdentifier.IsCustomMetric(text).Should().BeFalse();
    }
}
