using Proxy.Routing.Parsers;

namespace Proxy.Routing.Tests.Parsers;

public class ControlOnlyParserTests
{
    [Theory]
    [InlineData("vercel", "/extensions/vercel/webhook/")]
    [InlineData("vercel", "/extensions/vercel/delete/")]
    [InlineData("google", "/extensions/google/webhook/")]
    [InlineData("google", "/extensions/google/")]
    public void Every_request_goes_to_control(string provider, string path)
    {
        var parser = new ControlOnlyParser(provider);

        parser.Provider.Should().Be(provider);
        parser.Parse(Payloads.Request(path, "{\"type\":\"deployment.created\"}"u8.ToArray(), "application/json"))
            .Should().BeOfType<RoutingIntent.Control>();
    }
}
