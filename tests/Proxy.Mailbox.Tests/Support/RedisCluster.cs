using System.Diagnostics;
using Proxy.Testing;
using StackExchange.Redis;

namespace Proxy.Mailbox.Tests;

/// <summary>
/// A real redis-server in cluster mode, alone owning all 16384 slots. It enforces the cluster's key rules
/// (a command or script touching two slots fails), so a store that passes here is Redis Cluster safe.
/// </summary>
public sealed class RedisClusterNode : IAsyncLifetime
{
    private Process? _process;
    private string? _directory;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var port = RedisServer.FreeTcpPort();
        _directory = Directory.CreateTempSubdirectory("redis-cluster-test-").FullName;
        _process = Process.Start(new ProcessStartInfo("redis-server",
            $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no --dir {_directory} --protected-mode no --cluster-enabled yes --cluster-config-file nodes.conf")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var endpoint = $"127.0.0.1:{port}";
        using (var admin = await ConnectWhenUpAsync(endpoint + ",abortConnect=true,connectTimeout=500"))
        {
            var server = admin.GetServer(endpoint);
            await server.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", 0, 16383);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!(await server.ExecuteAsync("CLUSTER", "INFO")).ToString().Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException("the one-node cluster did not become ready");
                }

                await Task.Delay(50);
            }
        }

        Connection = await ConnectionMultiplexer.ConnectAsync(endpoint + ",abortConnect=true,connectTimeout=2000");
        if (Connection.GetServer(endpoint).ServerType != ServerType.Cluster)
        {
            throw new InvalidOperationException("redis-server is not in cluster mode");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        if (_directory is not null)
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }
    }

    private async Task<ConnectionMultiplexer> ConnectWhenUpAsync(string configuration)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                return await ConnectionMultiplexer.ConnectAsync(configuration);
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && _process is { HasExited: false })
            {
                await Task.Delay(50);
            }
        }
    }
}
