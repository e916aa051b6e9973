using Microsoft.Extensions.Logging;

namespace Proxy.Routing.Configuration;

/// <summary>
/// What happened to the last load of a hot-reloaded config file. A rejected edit is logged once, clearly, and the last
/// good content stays live. For a file YARP reads (<see cref="AppliedByProxy"/>), an edit that passed the checks counts
/// as accepted only once YARP applied it.
/// </summary>
public sealed partial class ConfigFileStatus(string path)
{
    private readonly Lock _gate = new();
    private ILogger? _logger;
    private DateTimeOffset? _awaitingApply;

    public string Path { get; } = path;

    /// <summary>True when YARP reads this file: <see cref="Applied"/> or <see cref="ApplyFailed"/> settles each edit.</summary>
    public bool AppliedByProxy { get; init; }

    /// <summary>
    /// Checks an edit must pass before it goes live (beyond being JSON); set once the host is built, since the checks come
    /// from its services. Each problem is one line.
    /// </summary>
    public Func<ConfigFileDocument, IReadOnlyList<ConfigProblem>>? Checks { get; set; }

    public bool Loaded { get; private set; }

    public string? LastError { get; private set; }

    public DateTimeOffset? LastLoadedAt { get; private set; }

    /// <summary>Raised after a good load or a rejected edit (true = accepted).</summary>
    public event Action<bool>? Changed;

    /// <summary>Raised when YARP could not apply an edit that passed the checks: the file's last good content goes back.</summary>
    internal event Action? Reverting;

    public void AttachLogger(ILogger logger) => _logger = logger;

    /// <summary>An edit passed the checks and is live in configuration; for a YARP file it now awaits YARP's apply.</summary>
    internal void Passed(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (AppliedByProxy && Loaded)
            {
                _awaitingApply = now;
                return;
            }
        }

        Accepted(now);
    }

    /// <summary>YARP applied its configuration: an edit awaiting it is accepted.</summary>
    public void Applied()
    {
        DateTimeOffset? at;
        lock (_gate)
        {
            (at, _awaitingApply) = (_awaitingApply, null);
        }

        if (at is { } passedAt)
        {
            Accepted(passedAt);
        }
    }

    /// <summary>YARP refused its configuration: an edit awaiting it is rejected and the last good content restored.</summary>
    public void ApplyFailed(string error)
    {
        DateTimeOffset? at;
        lock (_gate)
        {
            (at, _awaitingApply) = (_awaitingApply, null);
        }

        if (at is not null)
        {
            Rejected(error);
            Reverting?.Invoke();
        }
    }

    private void Accepted(DateTimeOffset now)
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
