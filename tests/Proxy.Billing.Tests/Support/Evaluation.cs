using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Proxy.Billing.Flags;
using Proxy.Billing.Processing;
using Proxy.Billing.Transport;

namespace Proxy.Billing.Tests.Support;

/// <summary>What the processor makes of one message, before any I/O (no Redis is contacted).</summary>
internal sealed record Evaluation(IReadOnlyList<OutboundMessage> Outputs, IReadOnlyList<CustomMetricSighting> Sightings)
{
    public static readonly DateTimeOffset Now = new DateTimeOffset(2024, 5, 1, 12, 34, 56, TimeSpan.Zero).AddTicks(7_890_120);

    private static readonly Lazy<BatchProcessor> Processor = new(() =>
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Billing:Enabled"] = "true",
            ["Billing:Redis:ConnectionString"] = "127.0.0.1:1",
        }).Build();
        return new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(new FakeTimeProvider(Now))
            .AddBillingConsumer(configuration)
            .BuildServiceProvider()
            .GetRequiredService<BatchProcessor>();
    });

    public static Evaluation Of(string payload, string id = "1-0") => Of(Encoding.UTF8.GetBytes(payload), id);

    public static Evaluation Of(byte[] payload, string id = "1-0")
    {
        var outputs = new List<OutboundMessage>();
        var sightings = new List<CustomMetricSighting>();
        Processor.Value.Evaluate(new InputMessage(id, payload), 0, outputs, sightings);
        return new Evaluation(outputs, sightings);
    }

    public OutboundMessage Single(Destination destination) => Outputs.Should().ContainSingle(o => o.Destination == destination).Subject;

    public string? DeadLetterError => Outputs.SingleOrDefault(o => o.Destination == Destination.DeadLetters).Error;
}
