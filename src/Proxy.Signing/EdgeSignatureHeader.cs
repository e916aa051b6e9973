using System.Buffers;
using System.Globalization;

namespace Proxy.Signing;

/// <summary>
/// The parsed header: <c>t=</c>, <c>k=</c> and <c>v1=</c>, each exactly once, comma separated, spaces around fields
/// allowed; fields of other names are ignored (a later scheme can be added beside v1).
/// </summary>
internal readonly ref struct EdgeSignatureHeader
{
    /// <summary>Far longer than any real value (about 100 characters); a longer one is refused unread.</summary>
    public const int MaximumLength = 1024;

    public long Timestamp { get; init; }

    public ReadOnlySpan<char> KeyId { get; init; }

    public ReadOnlySpan<char> SignatureHex { get; init; }

    public static bool TryParse(ReadOnlySpan<char> value, out EdgeSignatureHeader header)
    {
        header = default;
        if (value.Length > MaximumLength)
        {
            return false;
        }

        long? timestamp = null;
        ReadOnlySpan<char> keyId = default, signature = default;
        bool hasKey = false, hasSignature = false;
        foreach (var range in value.Split(','))
        {
            var field = value[range].Trim(' ');
            var equals = field.IndexOf('=');
            if (equals <= 0)
            {
                return false;
            }

            var name = field[..equals];
            var content = field[(equals + 1)..];
            if (name.SequenceEqual("t"))
            {
                if (timestamp is not null || !TryParseTimestamp(content, out var t))
                {
                    return false;
                }

                timestamp = t;
            }
            else if (name.SequenceEqual("k"))
            {
                if (hasKey || !EdgeSigningKey.IsValidId(content))
                {
                    return false;
                }

                keyId = content;
                hasKey = true;
            }
            else if (name.SequenceEqual(EdgeSignature.SchemeV1))
            {
                if (hasSignature || content.Length != EdgeSignature.HashBytes * 2 || content.ContainsAnyExcept(HexDigits))
                {
                    return false;
                }

                signature = content;
                hasSignature = true;
            }
        }

        if (timestamp is not { } stamp || !hasKey || !hasSignature)
        {
            return false;
        }

        header = new EdgeSignatureHeader { Timestamp = stamp, KeyId = keyId, SignatureHex = signature };
        return true;
    }

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private static bool TryParseTimestamp(ReadOnlySpan<char> text, out long timestamp)
    {
        timestamp = 0;
        // Digits only: no sign, no spaces, no exponent; 12 digits reach the year 33658.
        return text.Length is > 0 and <= 12 && !text.ContainsAnyExceptInRange('0', '9')
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out timestamp);
    }
}
