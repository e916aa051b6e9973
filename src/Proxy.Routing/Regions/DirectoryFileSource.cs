using Microsoft.Extensions.Logging;
using Proxy.Routing.Configuration;

namespace Proxy.Routing.Regions;

/// <summary>
/// <c>directory.json</c> from the config folder, reloaded when it changes. An edit that does not parse or validate is
/// logged and ignored; the previous directory keeps serving.
/// </summary>
public sealed class DirectoryFileSource : IIntegrationDirectorySource, IDisposable
{
    private readonly WatchedFile _watch;
    private readonly TimeProvider _time;
    private IntegrationDirectory _current;

    public DirectoryFileSource(string path, ConfigFileStatus status, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(status);
        Path = path;
        Status = status;
        _time = time;
        _current = Load() ?? throw new InvalidOperationException($"{path}: {status.LastError}");
        _watch = new WatchedFile(path, () => Load());
    }

    public string Path { get; }

    public ConfigFileStatus Status { get; }

    public IntegrationDirectory Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new directory went live.</summary>
    public event Action<IntegrationDirectory>? Reloaded;

    public void AttachLogger(ILogger logger) => Status.AttachLogger(logger);

    private IntegrationDirectory? Load()
    {
        IntegrationDirectory directory;
        try
        {
            directory = IntegrationDirectory.Parse(File.ReadAllBytes(Path), System.IO.Path.GetFileName(Path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            Status.Rejected(ex.Message);
            return null;
        }

        Volatile.Write(ref _current, directory);
        Status.Passed(_time.GetUtcNow());
        Reloaded?.Invoke(directory);
        return directory;
    }

    public void Dispose() => _watch.Dispose();
}
