using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proxy.Testing;
using static Proxy.Mailbox.Tests.TestEntries;

namespace Proxy.Mailbox.Tests.Delivery;

/// <summary>The HTTP delivery against a region on real Kestrel.</summary>
public sealed class HttpMailboxDeliveryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(Start);
    private readonly MailboxOptions _options = new();
    private readonly TestRegionClusters _regions = new();
    private SiloStub _region = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _region = await SiloStub.StartAsync("us");
        _regions.Add("us", _region.Address);
    }

    public async ValueTask DisposeAsync()
    {
        _regions.Dispose();
        await _region.DisposeAsync();
    }

    private HttpMailboxDelivery Delivery() =>
        new(_regions.Builder, new FixedOptionsMonitor<MailboxOptions>(_options), _time, NullLogger<HttpMailboxDelivery>.Instance);

    [Fact]
    public async Task The_stored_request_reaches_the_region_byte_for_byte_with_the_delivery_headers()
    {
        var entry = Entry("github:1", "us", Start) with
        {
            PathAndQuery = "/extensions/github/webhook/?x=1&y=%2F%C3%A9",
            Headers =
            [
                new("Content-Type", "application/json; charset=utf-8"),
                new("X-Hub-Signature-256", "sha256=abc"),
                new("X-Repeated", "one"),
                new("X-Repeated", "two"),
                new("Host", "hooks.example.com"),
                new("Content-Length", "999"),
                new("Connection", "keep-alive"),
                new("Transfer-Encoding", "chunked"),
                new("X-Proxy-Delivery-Id", "spoofed"),
            ],
            Body = AwkwardBytes(),
            Attempts = 3,
        };

        var result = await Delivery().DeliverAsync(entry, Ct);

        result.Should().Be(DeliveryResult.Answered(200));
        var request = _region.Requests.Single();
        request.Method.Should().Be("POST");
        request.PathAndQuery.Should().Be("/extensions/github/webhook/?x=1&y=%2F%C3%A9");
        request.Body.Should().Equal(entry.Body.ToArray());
        request.Header("Content-Type").Should().Be("application/json; charset=utf-8");
        request.Header("X-Hub-Signature-256").Should().Be("sha256=abc");
        request.Header("X-Repeated").Should().Be("one, two", "repeated header lines travel as one comma-joined line, in order");
        request.Header("Host").Should().Be(_region.Address.Authority, "Host is the region's, not the sender's");
        request.Header("Content-Length").Should().Be(entry.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Header("Transfer-Encoding").Should().BeNull();
        request.Headers.Where(h => h.Key == MailboxHeaders.DeliveryId).Select(h => h.Value).Should().Equal(entry.DeliveryId);
        request.Header(MailboxHeaders.DeliveryAttempt).Should().Be("3");
    }

    [Fact]
    public async Task A_body_without_a_stored_content_type_is_sent_without_one()
    {
        var entry = Entry("github:1", "us", Start) with { Headers = [], Body = "a=1"u8.ToArray() };

        await Delivery().DeliverAsync(entry, Ct);

        var request = _region.Requests.Single();
        request.Header("Content-Type").Should().BeNull();
        request.Body.Should().Equal("a=1"u8.ToArray());
    }

    [Theory]
    [InlineData("120", 120)]
    [InlineData("Sun, 01 Mar 2026 12:30:00 GMT", 1800)]
    [InlineData("Sun, 01 Mar 2026 11:00:00 GMT", 0)]
    public async Task Retry_after_is_read_as_seconds_or_as_a_date(string header, int expectedSeconds)
    {
        _region.Answer = (_, _) => new StubAnswer(503, Headers: new Dictionary<string, string> { ["Retry-After"] = header });

        var result = await Delivery().DeliverAsync(Entry("github:1", "us", Start), Ct);

        result.Should().Be(DeliveryResult.Answered(503, TimeSpan.FromSeconds(expectedSeconds)));
    }

    [Fact]
    public async Task An_unknown_region_is_reported_without_a_send()
    {
        var result = await Delivery().DeliverAsync(Entry("github:1", "mars", Start), Ct);

        result.Error.Should().Be(DeliveryError.UnknownRegion);
        _region.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_refused_connection_is_a_connection_error()
    {
        using var refused = new RefusedPort();
        _regions.Add("gone", refused.Address);

        var result = await Delivery().DeliverAsync(Entry("github:1", "gone", Start), Ct);

        result.Should().Be(DeliveryResult.Failed(DeliveryError.Connection));
    }

    [Fact]
    public async Task A_region_that_does_not_answer_within_the_timeout_is_a_timeout()
    {
        _region.Answer = (_, _) => new StubAnswer(200, TimeSpan.FromMinutes(5));
        var sending = Delivery().DeliverAsync(Entry("github:1", "us", Start), Ct);
        await Draining.MailboxDrainerTests.WaitUntilAsync(() => _region.Requests.Count > 0);

        _time.Advance(TimeSpan.FromSeconds(_options.DeliveryTimeoutSeconds));

        (await sending.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Should().Be(DeliveryResult.Failed(DeliveryError.Timeout));
    }

    [Fact]
    public async Task A_base_address_with_a_path_prefix_keeps_it()
    {
        _regions.Add("prefixed", new Uri(_region.Address, "/region-us/"));

        await Delivery().DeliverAsync(Entry("github:1", "prefixed", Start) with { PathAndQuery = "/hook?a=b" }, Ct);

        _region.Requests.Single().PathAndQuery.Should().Be("/region-us/hook?a=b");
    }
}
