using System.Text;

namespace Proxy.Mailbox.Tests;

internal static class TestEntries
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static MailboxEntry Entry(string mailbox, string region, DateTimeOffset receivedAt, string body = "{}", string? traceParent = null) => new()
    {
        DeliveryId = Guid.NewGuid().ToString(),
        Mailbox = mailbox,
        Region = region,
        Method = "POST",
        PathAndQuery = "/extensions/github/webhook/",
        Headers = [new("Content-Type", "application/json"), new("X-GitHub-Event", "push")],
        Body = Encoding.UTF8.GetBytes(body),
        ReceivedAt = receivedAt,
        NextAttemptAt = receivedAt,
        TraceParent = traceParent,
    };

    /// <summary>Every byte value, and sequences that are not valid UTF-8.</summary>
    public static byte[] AwkwardBytes()
    {
        var bytes = new List<byte> { 0xC3, 0x28, 0xFF, 0xFE, 0x00, 0xED, 0xA0, 0x80 };
        for (var b = 0; b < 256; b++)
        {
            bytes.Add((byte)b);
        }

        return [.. bytes];
    }
}

internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mailbox-test-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
