using System.Net.Sockets;
using System.Text;

namespace Proxy.Testing;

/// <summary>An HTTP/1.1 answer read off a raw socket: the status, the headers (names lower-cased) and the body bytes.</summary>
public sealed record RawAnswer(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : null;
}

/// <summary>
/// Sends bytes exactly as given over a fresh TCP connection, for requests no HTTP client would send (broken chunked
/// framing, absurd methods, header floods), and reads the answer until the server closes the connection.
/// </summary>
public static class RawHttp
{
    /// <param name="closeSend">Half-close after writing: the server sees the body end where the bytes end.</param>
    public static async Task<RawAnswer?> SendAsync(Uri server, byte[] request, bool closeSend = false, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cancel.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, cancel.Token);
            if (closeSend)
            {
                client.Client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (IOException)
        {
            // The server may answer and close before reading all of a refused request.
        }

        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancel.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (Parse(received.ToArray()) is { Complete: true } whole)
                {
                    return whole.Answer;
                }
            }
        }
        catch (IOException)
        {
            // A reset after the answer: what arrived is the answer.
        }

        return Parse(received.ToArray())?.Answer;
    }

    /// <summary>A request with the given head lines and body; adds Host and Connection: close.</summary>
    public static byte[] Request(string method, string target, IEnumerable<string> headers, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n");
        foreach (var header in headers)
        {
            head.Append(header).Append("\r\n");
        }

        head.Append("\r\n");
        return [.. Encoding.Latin1.GetBytes(head.ToString()), .. body];
    }

    private static (RawAnswer Answer, bool Complete)? Parse(byte[] bytes)
    {
        var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return null;
        }

        var lines = Encoding.Latin1.GetString(bytes, 0, end).Split("\r\n");
        var status = lines[0].Split(' ') is [_, var code, ..] && int.TryParse(code, out var parsed) ? parsed : 0;
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }
        }

        var body = bytes[(end + 4)..];
        var complete = headers.TryGetValue("content-length", out var length) && long.TryParse(length, out var expected)
            ? body.Length >= expected
            : headers.TryGetValue("transfer-encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase)
                && body.AsSpan().EndsWith("0\r\n\r\n"u8);
        return (new RawAnswer(status, headers, body), complete);
    }
}
