using Proxy.Routing.Configuration;

namespace Proxy.Routing.Rules;

/// <summary>
/// <c>provider-rules.json</c> from the config folder, reloaded when it changes; without the file the reference's
/// defaults are in force. An edit that does not parse or validate is logged and ignored and the previous rules keep
/// serving; a broken file at start stops the start.
/// </summary>
public sealed class ProviderRulesSource : IDisposable
{
    private readonly ValidatedFile<ProviderRules> _file;

    public ProviderRulesSource(string path, ConfigFileStatus status, TimeProvider time)
    {
        _file = new ValidatedFile<ProviderRules>(path, status, time, static path => File.Exists(path)
            ? ProviderRulesValidator.Parse(File.ReadAllBytes(path), System.IO.Path.GetFileName(path))
            : ProviderRules.Defaults);
    }

    public string Path => _file.Path;

    public ConfigFileStatus Status => _file.Status;

    public ProviderRules Current => _file.Current;

    public void Dispose() => _file.Dispose();
}
