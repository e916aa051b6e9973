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

        HeaderPolicy.StripSpoofable(headers, []);

        headers.Keys.Should().BeEquivalentTo("X-Slack-Signature", "Content-Type");
    }

    [Theory]
    [InlineData("X_Forwarded_For")]
    [InlineData("x_real_ip")]
    [InlineData("True-Client-IP")]
    [InlineData("CF-Connecting-IP")]
    [InlineData("Fastly-Client-IP")]
    [InlineData("X-Cluster-Client-IP")]
    [InlineData("X-Client-IP")]
    [InlineData("Client-IP")]
    [InlineData("X-Original-URL")]
    [InlineData("X-Original-Host")]
    [InlineData("X-Rewrite-URL")]
    [InlineData("x-forwarded-host")]
    [InlineData("X-PROXY-TRUSTED")]
    [InlineData("x-edge-signature")]
    public void Every_family_a_proxy_or_cdn_trusts_is_spoofable(string name)
    {
        HeaderPolicy.IsSpoofable(name, []).Should().BeTrue();
    }

    [Theory]
    [InlineData("X-Hub-Signature-256")]
    [InlineData("X-GitHub-Event")]
    [InlineData("User-Agent")]
    [InlineData("X-Request-Id")]
    [InlineData("traceparent")]
    [InlineData("X-Slack-Request-Timestamp")]
    public void A_provider_or_tracing_header_is_kept(string name)
    {
        HeaderPolicy.IsSpoofable(name, []).Should().BeFalse();
    }

    [Fact]
    public void A_configured_prefix_is_stripped_case_insensitively_and_only_it()
    {
        var headers = new HeaderDictionary
        {
            ["x-acme-tenant"] = "org-1",
            ["X-Acme-Internal-Auth"] = "yes",
            ["X-Acmes"] = "kept",
        };

        HeaderPolicy.StripSpoofable(headers, ["X-Acme-"]);

        headers.Keys.Should().BeEquivalentTo("X-Acmes");
    }
}
