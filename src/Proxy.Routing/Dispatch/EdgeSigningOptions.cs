using Microsoft.Extensions.Options;
using Proxy.Signing;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Section <c>Signing</c>: the keys every request to a silo is signed with (<c>X-Edge-Signature</c>,
/// docs/EDGE-SIGNING.md). The first key signs; silos verify with the same list, so a rotation puts the new key first
/// once every silo knows it. No keys: requests leave unsigned.
/// </summary>
public sealed class EdgeSigningOptions
{
    public const string Section = "Signing";

    public List<EdgeSigningKey> Keys { get; set; } = [];
}

internal sealed class EdgeSigningOptionsValidator : IValidateOptions<EdgeSigningOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeSigningOptions options)
    {
        var errors = EdgeSigningKey.Validate(options.Keys, $"{EdgeSigningOptions.Section}:Keys");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
