using System.Globalization;
using Microsoft.Extensions.Configuration;
using Proxy.Routing.Configuration;

namespace Proxy.Routing.Limits;

/// <summary>
/// The <c>Shed</c> section of a watched config file, checked by <c>check-config</c>, at start and before every reload
/// with the same reading and rules the shed valve applies: a rule without a provider, with both ids, or with an id that
/// is not a number is named with its line.
/// </summary>
internal sealed class ShedRulesConfigCheck : IConfigFileCheck
{
    public IEnumerable<ConfigProblem> Check(ConfigFileDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var section = document.Settings.GetSection(ShedOptions.Section);
        if (!section.Exists())
        {
            return [];
        }

        var (options, errors) = ShedValve.Read(section);
        var result = new ShedOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            errors.AddRange(result.Failures);
        }

        return errors.Select(error => document.Problem(RuleKeyOf(error, document), error));
    }

    /// <summary>The first key of the rule an error names (<c>Shed:Rules:3:...</c>), for its line.</summary>
    private static string RuleKeyOf(string error, ConfigFileDocument document)
    {
        var prefix = $"{ShedOptions.Section}:Rules:";
        var at = error.IndexOf(prefix, StringComparison.Ordinal);
        if (at < 0)
        {
            return ShedOptions.Section;
        }

        var rest = error.AsSpan(at + prefix.Length);
        var digits = 0;
        while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
        {
            digits++;
        }

        var rule = string.Create(CultureInfo.InvariantCulture, $"{prefix}{rest[..digits]}");
        return document.Keys.FirstOrDefault(k => k.StartsWith(rule + ":", StringComparison.OrdinalIgnoreCase)) ?? rule;
    }
}
