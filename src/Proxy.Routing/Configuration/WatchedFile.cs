using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace Proxy.Routing.Configuration;

/// <summary>
/// Calls back when a file changes on disk. Editors often write a file in several steps, so changes are debounced and
/// the callback reads the settled file.
/// </summary>
internal sealed class WatchedFile : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);
    private readonly PhysicalFileProvider _provider;
    private readonly string _fileName;
    private readonly Action _onChanged;
    private readonly Lock _gate = new();
    private IDisposable? _registration;
    private Timer? _timer;
    private bool _disposed;

    public WatchedFile(string path, Action onChanged)
    {
        var full = Path.GetFullPath(path);
        _provider = new PhysicalFileProvider(Path.GetDirectoryName(full)!)
        {
            // Polling works on every file system, including bind mounts in containers where inotify events don't arrive.
            UsePollingFileWatcher = true,
            UseActivePolling = true,
        };
        _fileName = Path.GetFileName(full);
        _onChanged = onChanged;
        Watch();
    }

    private void Watch()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _registration?.Dispose();
            _registration = ChangeToken.OnChange(() => _provider.Watch(_fileName), Schedule);
        }
    }

    private void Schedule()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _timer ??= new Timer(_ => _onChanged(), null, Timeout.Infinite, Timeout.Infinite);
            _timer.Change(Debounce, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _registration?.Dispose();
            _timer?.Dispose();
            _provider.Dispose();
        }
    }
}
