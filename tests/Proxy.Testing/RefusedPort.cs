using System.Net;
using System.Net.Sockets;

namespace Proxy.Testing;

/// <summary>
/// A loopback port that refuses every connection for as long as this object lives: the socket is bound (so nothing
/// else can take the port, as could happen to a port merely found free) but never listens.
/// </summary>
public sealed class RefusedPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public RefusedPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public void Dispose() => _socket.Dispose();
}
