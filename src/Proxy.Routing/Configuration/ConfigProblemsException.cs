namespace Proxy.Routing.Configuration;

/// <summary>A config file that cannot go live; the message lists every problem, each naming the file and line.</summary>
public sealed class ConfigProblemsException(IReadOnlyList<ConfigProblem> problems) : Exception(string.Join("; ", problems))
{
    public IReadOnlyList<ConfigProblem> Problems { get; } = problems;
}
