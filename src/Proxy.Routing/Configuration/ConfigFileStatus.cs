using Microsoft.Extensions.Logging;

namespace Proxy.Routing.Configuration;

/// <summary>
/// What happened to the last load of a hot-reloaded config file. A rejected edit is logged once, clearly, and the last
/// good content stays live.
/// </summary>
public sealed partial class ConfigFileStatus(string path)
{
    private ILogger? _logger;

    public string Path { get; } = path;

    public bool Loaded { get; private set; }

    public string? LastError { get; private set; }

    public DateTimeOffset? LastLoadedAt { get; private set; }

    /// <summary>Raised after a good load or a rejected edit (true = accepted).</summary>
    public event Action<bool>? Changed;

    public void AttachLogger(ILogger logger) => _logger = logger;

    internal void Accepted(DateTimeOffset now)
    {
        var wasLoaded = Loaded;
        Loaded = true;
        LastError = null;
        LastLoadedAt = now;
        if (wasLoaded && _logger is not null)
        {
            LogReloaded(_logger, Path);
        }

        Changed?.Invoke(true);
    }

    internal void Rejected(string error)
    {
        LastError = error;
        if (_logger is not null)
        {
            LogRejected(_logger, Path, error);
        }

        Changed?.Invoke(false);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Reloaded {Path}")]
    private static partial void LogReloaded(ILogger logger, string path);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error,
        Message = "Rejected the edit of {Path}; the last good version stays live. {Error}")]
    private static partial void LogRejected(ILogger logger, string path, string error);
}
