using Proxy.Routing.Configuration;

namespace Proxy.Routing.Rules;

/// <summary>
/// <c>provider-rules.json</c> from the config folder, reloaded when it changes; without the file the reference's
/// defaults are in force. An edit that does not parse or validate is logged and ignored and the previous rules keep
/// serving; a broken file at start stops the start.
/// </summary>
public sealed class ProviderRulesSource : IDisposable
{
    private readonly WatchedFile _watch;
    private readonly TimeProvider _time;
    private ProviderRules _current;

    public ProviderRulesSource(string path, ConfigFileStatus status, TimeProvider time)
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

    public ProviderRules Current => Volatile.Read(ref _current);

    private ProviderRules? Load()
    {
        ProviderRules rules;
        try
        {
            rules = File.Exists(Path)
                ? ProviderRulesValidator.Parse(File.ReadAllBytes(Path), System.IO.Path.GetFileName(Path))
                : ProviderRules.Defaults;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            Status.Rejected(ex.Message);
            return null;
        }

        Volatile.Write(ref _current, rules);
        Status.Passed(_time.GetUtcNow());
        return rules;
    }

    public void Dispose() => _watch.Dispose();
}
