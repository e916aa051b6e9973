using Microsoft.AspNetCore.Http;
using Proxy.Routing.Dispatch;

namespace Proxy.Routing.Tests.Dispatch;

public class HeaderPolicyTests
{
    [Fact]
    public void Forwarding_and_internal_headers_from_a_sender_are_removed_and_the_rest_kept()
    {
        var headers = new HeaderDictionary
        {
            ["X-Forwarded-For"] = "6.6.6.6",
            ["X-Forwarded-Proto"] = "https",
            ["Forwarded"] = "for=6.6.6.6",
            ["X-Real-IP"] = "6.6.6.6",
            ["X-Proxy-Region"] = "us",
            ["x-proxy-delivery-id"] = "forged",
            ["X-Slack-Signature"] = "v0=abc",
            ["Content-Type"] = "application/json",
        };

        HeaderPolicy.StripSpoofable(headers);

        headers.Keys.Should().BeEquivalentTo("X-Slack-Signature", "Content-Type");
    }
}
