using System.Text;

namespace Proxy.Signing;

/// <summary>
/// One shared HMAC key: its id travels in the header (<c>k=</c>), its secret never does. The secret's key bytes are its
/// UTF-8 encoding. Bindable from configuration (<c>Signing:Keys</c> is a list of <c>{"Id":"k1","Secret":"..."}</c>).
/// </summary>
public sealed class EdgeSigningKey
{
    /// <summary>Shortest secret accepted, in UTF-8 bytes: the HMAC-SHA256 block of entropy an attacker must guess.</summary>
    public const int MinimumSecretBytes = 32;

    /// <summary>Longest key id accepted.</summary>
    public const int MaximumIdLength = 64;

    public EdgeSigningKey()
    {
    }

    public EdgeSigningKey(string id, string secret)
    {
        Id = id;
        Secret = secret;
    }

    /// <summary>Letters, digits, <c>.</c>, <c>_</c> and <c>-</c>, at most 64 characters.</summary>
    public string Id { get; set; } = "";

    /// <summary>At least 32 bytes once encoded as UTF-8.</summary>
    public string Secret { get; set; } = "";

    public override string ToString() => $"EdgeSigningKey {Id}";

    /// <summary>
    /// What is wrong with a key list, one message per problem, each naming the entry by its index under
    /// <paramref name="keyPrefix"/> (for instance <c>Signing:Keys</c>); empty when the list is usable.
    /// </summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<EdgeSigningKey?> keys, string keyPrefix = "Keys")
    {
        ArgumentNullException.ThrowIfNull(keys);
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (key is null)
            {
                errors.Add($"{keyPrefix}:{i} is empty; give it an Id and a Secret.");
                continue;
            }

            if (!IsValidId(key.Id))
            {
                errors.Add($"{keyPrefix}:{i}:Id must be 1 to {MaximumIdLength} letters, digits, '.', '_' or '-' (was '{key.Id}').");
            }
            else if (!seen.Add(key.Id))
            {
                errors.Add($"{keyPrefix}:{i}:Id '{key.Id}' is used by an earlier key; ids must be unique.");
            }

            var length = Encoding.UTF8.GetByteCount(key.Secret ?? "");
            if (length < MinimumSecretBytes)
            {
                errors.Add($"{keyPrefix}:{i}:Secret must be at least {MinimumSecretBytes} bytes of UTF-8 (was {length}).");
            }
        }

        return errors;
    }

    internal static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaximumIdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    internal byte[] SecretBytes() => Encoding.UTF8.GetBytes(Secret);

    internal static void ThrowIfInvalid(IReadOnlyList<EdgeSigningKey> keys)
    {
        var errors = Validate(keys);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(keys));
        }
    }
}
