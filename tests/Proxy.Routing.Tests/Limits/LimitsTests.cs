using Microsoft.Extensions.Time.Testing;
using Proxy.Routing.Limits;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing.Tests.Limits;

public class LimitsTests
{
    [Fact]
    public void The_log_throttle_lets_a_few_lines_a_second_through_and_reports_how_many_it_left_out()
    {
        var time = new FakeTimeProvider();
        var throttle = new LogThrottle(time, perSecond: 3);

        var first = Enumerable.Range(0, 10).Select(_ => throttle.TryEnter(out long _)).ToList();
        time.Advance(TimeSpan.FromSeconds(1));
        var next = throttle.TryEnter(out var suppressed);

        first.Should().Equal(true, true, true, false, false, false, false, false, false, false);
        next.Should().BeTrue();
        suppressed.Should().Be(7);
        throttle.TryEnter(out var none).Should().BeTrue();
        none.Should().Be(0);
    }

    [Theory]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("fd00::/8", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("balancer.internal", false)]
    public void Trusted_proxies_are_addresses_or_CIDR_ranges(string value, bool valid)
    {
        var options = new RateLimitOptions { TrustedProxies = [value] };

        var result = new RateLimitOptionsValidator().Validate(null, options);

        result.Succeeded.Should().Be(valid, result.FailureMessage);
        if (!valid)
        {
            result.FailureMessage.Should().Contain("RateLimits:TrustedProxies:0");
        }
    }

    [Fact]
    public void A_limit_with_no_burst_is_refused_by_name()
    {
        var options = new RateLimitOptions { Integration = new TokenBucketSettings { TokensPerSecond = 5, Burst = 0 } };

        new RateLimitOptionsValidator().Validate(null, options).FailureMessage.Should().Contain("RateLimits:Integration:Burst");
    }
}
