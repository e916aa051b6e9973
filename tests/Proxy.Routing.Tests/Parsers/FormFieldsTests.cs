using System.Text;
using Proxy.Routing.Parsers;

namespace Proxy.Routing.Tests.Parsers;

public class FormFieldsTests
{
    [Theory]
    [InlineData("team_id=T1&command=%2Fsentry", "team_id", "T1")]
    [InlineData("command=%2Fsentry&team_id=T1", "command", "/sentry")]
    [InlineData("text=hello+world%21", "text", "hello world!")]
    [InlineData("team%5Fid=T2", "team_id", "T2")]
    [InlineData("a=1&team_id=&b=2", "team_id", "")]
    [InlineData("team_id", "team_id", "")]
    [InlineData("team_id=T1&team_id=T2", "team_id", "T1")]
    [InlineData("text=caf%C3%A9", "text", "café")]
    [InlineData("text=100%", "text", "100%")]
    [InlineData("x=1", "team_id", null)]
    [InlineData("", "team_id", null)]
    [InlineData("text=%FF%FE", "text", null)]
    public void Finds_and_decodes_one_field(string body, string name, string? expected)
        => FormFields.Get(Encoding.UTF8.GetBytes(body), name).Should().Be(expected);

    [Theory]
    [InlineData("team_id=T1&response_url=https%3A%2F%2Fh%2F1", "response_url", "https%3A%2F%2Fh%2F1")]
    [InlineData("response_url=&team_id=T1", "response_url", "")]
    [InlineData("team_id", "team_id", "")]
    [InlineData("a=1&team_id=T9", "team_id", "T9")]
    public void Finds_a_field_still_encoded(string body, string name, string encoded)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        FormFields.TryFind(bytes, name, out var value).Should().BeTrue();
        Encoding.UTF8.GetString(bytes.AsSpan()[value]).Should().Be(encoded);
    }

    [Fact]
    public void A_missing_field_is_not_found()
        => FormFields.TryFind("a=1&b=2"u8, "team_id", out _).Should().BeFalse();

    [Fact]
    public void A_body_that_is_not_UTF8_is_not_a_valid_form()
        => FormFields.IsValid(new byte[] { (byte)'a', (byte)'=', 0xFF }).Should().BeFalse();
}
