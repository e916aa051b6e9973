using System.Diagnostics;
using Proxy.Testing;
using StackExchange.Redis;

namespace Proxy.Mailbox.Tests;

/// <summary>
/// A real Redis Cluster of three redis-server primaries on loopback, the 16384 slots split between them. A script
/// that reaches a key held by another node fails there, so a store that passes on it keeps each operation in one slot.
/// </summary>
public sealed class RedisCluster : IAsyncLifetime
{
    private const int Nodes = 3;
    private readonly List<Process> _processes = [];
    private readonly List<int> _ports = [];
    private string? _directory;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("redis-cluster-test-").FullName;
        for (var i = 0; i < Nodes; i++)
        {
            var port = RedisServer.FreeTcpPort();
            var directory = Directory.CreateDirectory(Path.Combine(_directory, i.ToString(System.Globalization.CultureInfo.InvariantCulture))).FullName;
            var process = Process.Start(new ProcessStartInfo("redis-server",
                $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no --dir {directory} --protected-mode no --cluster-enabled yes --cluster-config-file nodes.conf")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            }) ?? throw new InvalidOperationException("redis-server did not start");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _processes.Add(process);
            _ports.Add(port);
        }

        const int slots = 16384;
        for (var i = 0; i < Nodes; i++)
        {
            using var node = await ConnectWhenUpAsync(_ports[i]);
            var server = node.GetServer($"127.0.0.1:{_ports[i]}");
            await server.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", i * slots / Nodes, ((i + 1) * slots / Nodes) - 1);
            if (i > 0)
            {
                await server.ExecuteAsync("CLUSTER", "MEET", "127.0.0.1", _ports[0]);
            }
        }

        foreach (var port in _ports)
        {
            using var node = await ConnectWhenUpAsync(port);
            var server = node.GetServer($"127.0.0.1:{port}");
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!(await server.ExecuteAsync("CLUSTER", "INFO")).ToString().Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException("the test cluster did not become ready");
                }

                await Task.Delay(50);
            }
        }

        Connection = await ConnectionMultiplexer.ConnectAsync(string.Join(',', _ports.Select(p => $"127.0.0.1:{p}")) + ",abortConnect=true,connectTimeout=2000");
        if (Connection.GetServers().Count(s => s.ServerType == ServerType.Cluster && !s.IsReplica) != Nodes)
        {
            throw new InvalidOperationException("the client does not see three cluster primaries");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        if (_directory is not null)
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }
    }

    private async Task<ConnectionMultiplexer> ConnectWhenUpAsync(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                return await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=500,allowAdmin=true");
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && _processes.TrueForAll(p => !p.HasExited))
            {
                await Task.Delay(50);
            }
        }
    }
}
