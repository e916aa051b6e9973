namespace Proxy.Routing.Configuration;

/// <summary>
/// A check of a hot-reloaded JSON config file (<c>proxy.json</c>), run by <c>check-config</c>, at start and on every
/// reload before the edit goes live; any problem rejects the edit and the last good version stays. Register one with
/// <c>services.AddSingleton&lt;IConfigFileCheck, MyCheck&gt;()</c>; it reads the file's settings as configuration
/// (<see cref="ConfigFileDocument.Settings"/>) and names the line of a key with <see cref="ConfigFileDocument.Problem"/>.
/// </summary>
public interface IConfigFileCheck
{
    IEnumerable<ConfigProblem> Check(ConfigFileDocument document);
}
