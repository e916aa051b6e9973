using Microsoft.Extensions.Options;
using Proxy.Routing.Regions;
using Proxy.Routing.Rules;

namespace Proxy.Routing.Configuration;

/// <summary>
/// The one config validator: <c>check-config</c> runs it over a folder, the host runs it over <c>proxy.json</c> at
/// start (a problem stops the start) and before every reload goes live (a problem rejects the edit), and the directory
/// file is validated by the same parser that loads it. Checks of other features plug in as <see cref="IConfigFileCheck"/>.
/// </summary>
public sealed class ProxyConfigCheck
{
    public const string RoutesFile = "proxy.json";
    public const string DirectoryFile = "directory.json";

    private readonly IReadOnlyList<IConfigFileCheck> _checks;
    private readonly IOptions<DirectoryOptions> _directory;

    public ProxyConfigCheck(IEnumerable<IConfigFileCheck> checks, IOptions<DirectoryOptions> directory)
    {
        _checks = checks.ToArray();
        _directory = directory;
    }

    /// <summary>
    /// The start check of a hot-reloaded file: its content now must pass (else <see cref="ConfigProblemsException"/>), and
    /// from now on every edit must pass the same checks before it goes live.
    /// </summary>
    public void Guard(ConfigFileStatus file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var problems = new List<ConfigProblem>();
        var (_, found) = ReadFile(file.Path, Path.GetFileName(file.Path), problems);
        problems.AddRange(found);
        if (problems.Count > 0)
        {
            throw new ConfigProblemsException(problems);
        }

        file.Checks = document => _checks.SelectMany(check => check.Check(document)).ToList();
    }

    /// <summary>The problems of one config file's content (syntax, duplicate keys, then every registered check).</summary>
    public IReadOnlyList<ConfigProblem> CheckFile(byte[] utf8Json, string file) => Read(utf8Json, file).Problems;

    /// <summary>
    /// Everything wrong with a config folder: <c>proxy.json</c>, <c>provider-rules.json</c> when there is one,
    /// <c>directory.json</c> (with the file directory source)
    /// and regions that organizations live in but no cluster serves. Empty when the folder can go live.
    /// </summary>
    public IReadOnlyList<ConfigProblem> CheckFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var problems = new List<ConfigProblem>();
        var (routes, routeProblems) = ReadFile(Path.Combine(folder, RoutesFile), RoutesFile, problems);
        problems.AddRange(routeProblems);
        var rulesPath = Path.Combine(folder, ProviderRulesValidator.FileName);
        if (File.Exists(rulesPath) && TryReadAllBytes(rulesPath, ProviderRulesValidator.FileName, problems, out var rules))
        {
            problems.AddRange(ProviderRulesValidator.Validate(rules).Select(p => new ConfigProblem(
                p.StartsWith(ProviderRulesValidator.FileName, StringComparison.Ordinal) ? p : $"{ProviderRulesValidator.FileName}: {p}")));
        }

        if (_directory.Value.UsesControl)
        {
            return problems;
        }

        var directoryPath = Path.Combine(folder, DirectoryFile);
        if (!TryReadAllBytes(directoryPath, DirectoryFile, problems, out var bytes))
        {
            return problems;
        }

        var (directory, directoryProblems) = IntegrationDirectory.Check(bytes, DirectoryFile);
        problems.AddRange(directoryProblems.Select(p => new ConfigProblem(p)));
        if (directory is not null && routes is not null)
        {
            foreach (var missing in directory.RegionsWithoutCluster(RoutesConfigCheck.RegionsOf(routes)))
            {
                var place = directory.PlaceOf(missing.Organizations[0]) ?? DirectoryFile;
                problems.Add(new ConfigProblem(
                    $"{place}: region '{missing.Region}' of organization(s) {string.Join(", ", missing.Organizations.Take(5))}{(missing.Organizations.Count > 5 ? ", ..." : "")} has no cluster in {RoutesFile} (a cluster with \"Metadata\": {{ \"Region\": \"{missing.Region}\" }})"));
            }
        }

        return problems;
    }

    private (ConfigFileDocument? Document, IReadOnlyList<ConfigProblem> Problems) ReadFile(string path, string file, List<ConfigProblem> problems)
        => TryReadAllBytes(path, file, problems, out var bytes) ? Read(bytes, file) : (null, []);

    private (ConfigFileDocument? Document, IReadOnlyList<ConfigProblem> Problems) Read(byte[] utf8Json, string file)
    {
        var (document, problems) = ConfigFileDocument.Read(utf8Json, file);
        if (document is null)
        {
            return (null, problems);
        }

        var found = _checks.SelectMany(check => check.Check(document)).ToList();
        return (document, found);
    }

    private static bool TryReadAllBytes(string path, string file, List<ConfigProblem> problems, out byte[] bytes)
    {
        try
        {
            bytes = File.ReadAllBytes(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add(ConfigProblem.At(file, null, $"cannot be read ({path}): {ex.Message}"));
            bytes = [];
            return false;
        }
    }
}
