using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;
using Xunit;

namespace Proxy.Testing;

/// <summary>
/// A real redis-server on a free loopback port, started for a test class (or collection) and stopped after it.
/// Persistence is off unless a test asks for AOF (<see cref="AppendOnly"/>), so each fixture starts empty; with AOF a
/// test can kill the server (<see cref="KillAsync"/>) and start it again on the same port with its data
/// (<see cref="RestartAsync"/>), as an outage does.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _process;
    private string? _directory;

    /// <summary>Every write is in the append-only file (fsync always) before Redis answers it.</summary>
    public bool AppendOnly { get; init; }

    /// <summary>More redis-server arguments, e.g. <c>--maxmemory-policy allkeys-lru</c>; set before the server starts.</summary>
    public string ExtraArguments { get; init; } = "";

    private int _port;

    /// <summary>The server's port: a free one unless set (e.g. a port a proxy was already told to use while nothing listened there).</summary>
    public int Port { get => _port; init => _port = value; }

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000";

    public ConnectionMultiplexer? Connection { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var executable = FindExecutable("redis-server")
            ?? throw new InvalidOperationException(
                "redis-server is not installed; run scripts/test.sh, which installs it with apt-get.");
        if (_port == 0)
        {
            _port = FreeTcpPort();
        }

        _directory = Directory.CreateTempSubdirectory("redis-test-").FullName;
        await StartProcessAsync(executable);
    }

    /// <summary>SIGKILL: clients see connections refused until <see cref="RestartAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
            Connection = null;
        }

        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts the server again on the same port and folder (with <see cref="AppendOnly"/>, with its data).</summary>
    public Task RestartAsync()
        => StartProcessAsync(FindExecutable("redis-server") ?? throw new InvalidOperationException("redis-server is not installed"));

    private async Task StartProcessAsync(string executable)
    {
        var persistence = AppendOnly ? "--appendonly yes --appendfsync always" : "--appendonly no";
        _process = Process.Start(new ProcessStartInfo(executable,
            $"--port {Port} --bind 127.0.0.1 --save \"\" {persistence} --dir {_directory} --protected-mode no {ExtraArguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                Connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},abortConnect=true,connectTimeout=500,allowAdmin=true");
                await Connection.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("LOADING", StringComparison.Ordinal) && DateTime.UtcNow < deadline && !_process.HasExited)
            {
                // A restart over an AOF answers LOADING until the dataset is read back.
                Connection?.Dispose();
                Connection = null;
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (_directory is not null)
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }
    }

    public Task FlushAsync() => Connection!.GetServer($"127.0.0.1:{Port}").FlushAllDatabasesAsync();

    public static int FreeTcpPort()
    {
        // Below Linux's ephemeral range (32768-60999), which port 0 would pick from: a client that keeps reconnecting to a
        // down server on an ephemeral port can connect to itself (TCP simultaneous open on loopback) and hold the port,
        // and any outgoing connection may take it; then the server started there later cannot bind.
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        using var fallback = new TcpListener(IPAddress.Loopback, 0);
        fallback.Start();
        return ((IPEndPoint)fallback.LocalEndpoint).Port;
    }

    private static string? FindExecutable(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return File.Exists("/usr/bin/" + name) ? "/usr/bin/" + name : null;
    }
}
