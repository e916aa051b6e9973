using System.Collections.Concurrent;
using System.Diagnostics;
using Proxy.Testing;

namespace Proxy.Host.Tests;

/// <summary>The real host, <c>dotnet Proxy.Host.dll</c>, on a free loopback port: another replica, with its own memory.</summary>
public sealed class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private ProxyProcess(Process process, int port)
    {
        _process = process;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    public string Output => string.Join('\n', _log);

    /// <summary>The non-empty lines written so far (standard output and error).</summary>
    public IReadOnlyList<string> Lines => _log.Where(l => l.Length > 0).ToArray();

    public static ProxyProcess Start(params string[] settings)
    {
        var port = RedisServer.FreeTcpPort();
        return Run(port, [$"--urls=http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning", .. settings.Select(s => "--" + s)]);
    }

    /// <summary>The host with exactly <paramref name="arguments"/> on its command line (verbs, flags, settings).</summary>
    public static ProxyProcess StartWithArguments(params string[] arguments) => Run(RedisServer.FreeTcpPort(), arguments);

    private static ProxyProcess Run(int port, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Proxy.Host.dll"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Launch(info, port);
    }

    /// <summary>A host started as <paramref name="info"/> says (its own working directory, environment and arguments), listening on <paramref name="port"/>.</summary>
    public static ProxyProcess Launch(ProcessStartInfo info, int port)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var process = Process.Start(info) ?? throw new InvalidOperationException("the proxy process did not start");
        var proxy = new ProxyProcess(process, port);
        process.OutputDataReceived += (_, e) => proxy._log.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => proxy._log.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return proxy;
    }

    /// <summary>The exit code once the process ended on its own within <paramref name="timeout"/> (all its output read).</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until <c>/readyz</c> answers 200 with a body that satisfies <paramref name="ready"/> (30 s unless <paramref name="within"/> says otherwise).</summary>
    public async Task WaitReadyAsync(Func<string, bool> ready, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow.Add(within ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                var response = await Client.GetAsync("/readyz");
                if (response.IsSuccessStatusCode && ready(await response.Content.ReadAsStringAsync()))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the proxy process did not become ready:\n" + Output);
    }

    /// <summary>SIGKILL: no shutdown hook, no drain, no flush; returns once the process is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
