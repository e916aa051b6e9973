using Microsoft.Extensions.Logging;
using Proxy.Routing.Configuration;

namespace Proxy.Routing.Regions;

/// <summary>
/// <c>directory.json</c> from the config folder, reloaded when it changes. An edit that does not parse or validate is
/// logged and ignored; the previous directory keeps serving.
/// </summary>
public sealed class DirectoryFileSource : IIntegrationDirectorySource, IDisposable
{
    private readonly ValidatedFile<IntegrationDirectory> _file;

    public DirectoryFileSource(string path, ConfigFileStatus status, TimeProvider time)
    {
        _file = new ValidatedFile<IntegrationDirectory>(path, status, time,
            static path => IntegrationDirectory.Parse(File.ReadAllBytes(path), System.IO.Path.GetFileName(path)),
            directory => Reloaded?.Invoke(directory));
    }

    public string Path => _file.Path;

    public ConfigFileStatus Status => _file.Status;

    public IntegrationDirectory Current => _file.Current;

    /// <summary>Raised after a new directory went live.</summary>
    public event Action<IntegrationDirectory>? Reloaded;

    public void AttachLogger(ILogger logger) => Status.AttachLogger(logger);

    public void Dispose() => _file.Dispose();
}
