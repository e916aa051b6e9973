namespace Proxy.Routing.Configuration;

/// <summary>
/// Calls back when a file changes on disk. The file's stamp (last write time and length) is read every
/// <see cref="PollInterval"/>; a change is reported once a poll finds the stamp settled, because editors often write a
/// file in several steps. So a save goes live between one and two intervals later (0.2 to 0.4 s), plus the reload.
/// </summary>
/// <remarks>
/// Polling works on every file system, including bind mounts in containers where inotify events don't arrive, and it
/// needs no inotify instance (a per-user limit that many watchers in one machine exhaust). The stock
/// <c>PhysicalFileProvider</c> polls every 4 s and then waits for its own token to be renewed, which made an edit take
/// 2 to 7 s to apply; one stat call per file every 200 ms costs nothing.
/// </remarks>
internal sealed class WatchedFile : IDisposable
{
    /// <summary>How often the file's stamp is read.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private readonly string _path;
    private readonly Action _onChanged;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private Stamp _seen;
    private bool _pending;
    private bool _disposed;

    public WatchedFile(string path, Action onChanged, TimeProvider? time = null)
    {
        _path = Path.GetFullPath(path);
        _onChanged = onChanged;
        _seen = Stamp.Of(_path);
        _timer = (time ?? TimeProvider.System).CreateTimer(_ => Poll(), null, PollInterval, Timeout.InfiniteTimeSpan);
    }

    private void Poll()
    {
        bool changed;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var stamp = Stamp.Of(_path);
            if (stamp != _seen)
            {
                // Still being written, or just saved: report it once the next poll sees the same stamp.
                _seen = stamp;
                _pending = true;
                changed = false;
            }
            else
            {
                changed = _pending;
                _pending = false;
            }
        }

        try
        {
            if (changed)
            {
                _onChanged();
            }
        }
        finally
        {
            lock (_gate)
            {
                // One poll at a time: the next one is armed after this one ended, however long the reload took.
                if (!_disposed)
                {
                    _timer.Change(PollInterval, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer.Dispose();
        }
    }

    /// <summary>What a poll compares: a missing file has its own stamp, so deleting and restoring it count as changes.</summary>
    private readonly record struct Stamp(DateTime LastWriteUtc, long Length)
    {
        public static Stamp Of(string path)
        {
            var file = new FileInfo(path);
            return file.Exists ? new Stamp(file.LastWriteTimeUtc, file.Length) : new Stamp(DateTime.MinValue, -1);
        }
    }
}
