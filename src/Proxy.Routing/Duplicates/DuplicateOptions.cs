using Microsoft.Extensions.Options;

namespace Proxy.Routing.Duplicates;

/// <summary>
/// Duplicate suppression, section <c>Dedup</c>: delivery ids are remembered this long in Redis (when
/// <c>Redis:ConnectionString</c> is set), else in the embedded SQLite file of the mailbox, else in a bounded memory set.
/// </summary>
public sealed class DuplicateOptions
{
    public const string Section = "Dedup";

    /// <summary>False turns duplicate suppression off: every webhook is stored or forwarded.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a delivery id is remembered after its webhook was accepted.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most ids the in-memory fallback remembers; past it the oldest are forgotten first.</summary>
    public int MemoryCapacity { get; set; } = 100_000;
}

internal sealed class DuplicateOptionsValidator : IValidateOptions<DuplicateOptions>
{
    private static readonly TimeSpan s_maxWindow = TimeSpan.FromDays(7);

    public ValidateOptionsResult Validate(string? name, DuplicateOptions options)
    {
        var errors = new List<string>();
        if (options.Window <= TimeSpan.Zero || options.Window > s_maxWindow)
        {
            errors.Add($"{DuplicateOptions.Section}:Window must be a positive duration of at most {s_maxWindow} such as 01:00:00 (was {options.Window}).");
        }

        if (options.MemoryCapacity is < 1 or > 10_000_000)
        {
            errors.Add($"{DuplicateOptions.Section}:MemoryCapacity must be between 1 and 10000000 (was {options.MemoryCapacity}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
