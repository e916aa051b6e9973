using System.Diagnostics;

namespace Proxy.Mailbox;

/// <summary>Names to subscribe to: <c>AddMeter(MailboxTelemetry.MeterName)</c>, <c>AddSource(MailboxTelemetry.ActivitySourceName)</c>.</summary>
public static class MailboxTelemetry
{
    public const string MeterName = "EdgeProxy.Mailbox";

    public const string ActivitySourceName = "EdgeProxy.Mailbox";

    /// <summary>The name of the span around one delivery attempt.</summary>
    public const string DeliverySpanName = "mailbox.deliver";

    internal static readonly ActivitySource Source = new(ActivitySourceName);
}
