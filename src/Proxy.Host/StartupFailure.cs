using Microsoft.Extensions.Options;
using Proxy.Routing.Configuration;

namespace Proxy.Host;

/// <summary>
/// A start that cannot succeed (a bad setting, a broken config file, a port in use) ends with one line on standard
/// error naming the key or file, and exit code 1, instead of an unhandled exception and its stack trace.
/// </summary>
internal static class StartupFailure
{
    public static int Report(Exception exception)
    {
        Console.Error.WriteLine("edge-proxy: cannot start: " + string.Join(" ", Messages(exception).Distinct(StringComparer.Ordinal)));
        return 1;
    }

    private static IEnumerable<string> Messages(Exception exception) => exception switch
    {
        OptionsValidationException validation => validation.Failures,
        ConfigProblemsException config => config.Problems.Select(p => p.Text),
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Messages),
        _ => [exception.Message],
    };
}
