namespace Proxy.Routing.Configuration;

/// <summary>
/// A config file read into a validated value and reloaded when it changes. An edit that does not read or validate
/// (the reader throws <see cref="FormatException"/> or an I/O error) is reported through <see cref="Status"/> and
/// ignored: the previous value keeps serving. The first read must succeed.
/// </summary>
internal sealed class ValidatedFile<T> : IDisposable
    where T : class
{
    private readonly WatchedFile _watch;
    private readonly TimeProvider _time;
    private readonly Func<string, T> _read;
    private readonly Action<T>? _reloaded;
    private T _current;

    public ValidatedFile(string path, ConfigFileStatus status, TimeProvider time, Func<string, T> read, Action<T>? reloaded = null)
    {
        ArgumentNullException.ThrowIfNull(status);
        Path = path;
        Status = status;
        _time = time;
        _read = read;
        _reloaded = reloaded;
        _current = Load() ?? throw new InvalidOperationException($"{path}: {status.LastError}");
        _watch = new WatchedFile(path, () => Load());
    }

    public string Path { get; }

    public ConfigFileStatus Status { get; }

    public T Current => Volatile.Read(ref _current);

    private T? Load()
    {
        T value;
        try
        {
            value = _read(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            Status.Rejected(ex.Message);
            return null;
        }

        Volatile.Write(ref _current, value);
        Status.Passed(_time.GetUtcNow());
        _reloaded?.Invoke(value);
        return value;
    }

    public void Dispose() => _watch.Dispose();
}
