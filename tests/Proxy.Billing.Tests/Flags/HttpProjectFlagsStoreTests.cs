using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Flags;
using Proxy.Billing.Tests.Support;
using Proxy.Testing;

namespace Proxy.Billing.Tests.Flags;

/// <summary>Project flags asked of a silo over HTTP: a stub on real Kestrel plays the silo's flags API.</summary>
[Collection(RedisTests.Name)]
public sealed class HttpProjectFlagsStoreTests(RedisServer redis) : IAsyncLifetime
{
    private readonly ConcurrentDictionary<long, ulong> _projects = new();
    private readonly long _org = Ids.NewOrganization();
    private SiloStub _silo = null!;

    public async ValueTask InitializeAsync()
    {
        _silo = await SiloStub.StartAsync("region-flags");
        _silo.Answer = (request, _) => Answer(request);
    }

    public async ValueTask DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    internal async Task Reads_sets_and_reports_missing_projects()
    {
        _projects[61] = 10;
        await using var harness = await Harness();
        var store = harness.Services.GetRequiredService<IProjectFlagsStore>();

        (await store.GetFlagsAsync(61, default)).Should().Be((ProjectFlags)10);
        (await store.AddFlagsAsync(61, ProjectFlags.HasCustomMetrics, default)).Should().Be((ProjectFlags)(10 | 65536));
        (await store.GetFlagsAsync(62, default)).Should().BeNull();
        (await store.AddFlagsAsync(62, ProjectFlags.HasCustomMetrics, default)).Should().BeNull();
        _silo.Requests.Select(r => (r.Method, r.PathAndQuery)).Should().Equal(
            ("GET", "/internal/projects/61/flags"), ("POST", "/internal/projects/61/flags"),
            ("GET", "/internal/projects/62/flags"), ("POST", "/internal/projects/62/flags"));
    }

    [Fact]
    internal async Task A_silo_error_fails_the_batch_which_is_retried_later()
    {
        _silo.Answer = (_, _) => new StubAnswer(503);
        await using var harness = await Harness();
        await harness.AddBucketsAsync(Buckets.Custom(_org, 63), Buckets.Usage(_org, 63, 2));
        var batch = await harness.Transport.ReadBatchAsync(default);

        var act = () => harness.Processor.ProcessAsync(harness.Transport, batch, default);

        await act.Should().ThrowAsync<HttpRequestException>();
        (await harness.OutcomesAsync()).Should().BeEmpty("nothing of the batch is committed");

        _projects[63] = 0;
        _silo.Answer = (request, _) => Answer(request);
        await harness.Transport.StartAsync(default);
        await harness.DrainAsync();
        (await harness.OutcomesAsync()).Should().ContainSingle();
        (await harness.EventsAsync()).Should().ContainSingle().Which.ProjectId.Should().Be(63);
        _projects[63].Should().Be((ulong)ProjectFlags.HasCustomMetrics);
    }

    private Task<BillingHarness> Harness() => BillingHarness.StartAsync(redis, new FakeTimeProvider(Evaluation.Now), s =>
    {
        s["Billing:Flags:Store"] = "Http";
        s["Billing:Flags:HttpBaseAddress"] = new Uri(_silo.Address, "internal").ToString();
    });

    private StubAnswer Answer(RecordedRequest request)
    {
        var id = long.Parse(request.PathAndQuery.Split('/')[3], CultureInfo.InvariantCulture);
        if (!_projects.TryGetValue(id, out var flags))
        {
            return new StubAnswer(404, Body: "{}");
        }

        if (request.Method == "POST")
        {
            flags = _projects.AddOrUpdate(id, 0, (_, old) => old | JsonDocument.Parse(request.Body).RootElement.GetProperty("add").GetUInt64());
        }

        return new StubAnswer(Body: $"{{\"flags\":{flags}}}");
    }
}
