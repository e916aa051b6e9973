using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Finds single fields of an <c>application/x-www-form-urlencoded</c> body without building the whole form: a
/// parser needs one or two fields of a form that may carry dozens.
/// </summary>
internal static class FormFields
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>False when the body is not UTF-8 (every form a provider sends is).</summary>
    public static bool IsValid(ReadOnlySpan<byte> body) => Utf8.IsValid(body);

    /// <summary>The decoded value of the first field named <paramref name="name"/>; null when absent or not valid UTF-8.</summary>
    public static string? Get(ReadOnlySpan<byte> body, string name)
        => TryFind(body, name, out var value) ? Decode(body[value]) : null;

    /// <summary>Where the still-encoded value of the first field named <paramref name="name"/> lies in the body.</summary>
    public static bool TryFind(ReadOnlySpan<byte> body, string name, out Range value)
    {
        var offset = 0;
        while (offset < body.Length)
        {
            var rest = body[offset..];
            var end = rest.IndexOf((byte)'&');
            var pair = end < 0 ? rest : rest[..end];
            var equals = pair.IndexOf((byte)'=');
            var key = equals < 0 ? pair : pair[..equals];
            if (KeyEquals(key, name))
            {
                value = equals < 0 ? new Range(offset + pair.Length, offset + pair.Length) : new Range(offset + equals + 1, offset + pair.Length);
                return true;
            }

            offset += pair.Length + 1;
        }

        value = default;
        return false;
    }

    /// <summary>True when an encoded value needs no decoding: its bytes are the value.</summary>
    public static bool IsPlain(ReadOnlySpan<byte> encoded) => encoded.IndexOfAny((byte)'%', (byte)'+') < 0;

    private static bool KeyEquals(ReadOnlySpan<byte> encodedKey, string name)
    {
        if (IsPlain(encodedKey))
        {
            if (encodedKey.Length != name.Length)
            {
                return false;
            }

            for (var i = 0; i < name.Length; i++)
            {
                if (encodedKey[i] != name[i])
                {
                    return false;
                }
            }

            return true;
        }

        return Decode(encodedKey) == name;
    }

    /// <summary>The decoded text of an encoded key or value; null when it is not valid UTF-8.</summary>
    public static string? Decode(ReadOnlySpan<byte> encoded)
    {
        if (IsPlain(encoded))
        {
            return Utf8.IsValid(encoded) ? Encoding.UTF8.GetString(encoded) : null;
        }

        var rented = ArrayPool<byte>.Shared.Rent(encoded.Length);
        try
        {
            var length = 0;
            for (var i = 0; i < encoded.Length; i++)
            {
                var b = encoded[i];
                if (b == '+')
                {
                    rented[length++] = (byte)' ';
                }
                else if (b == '%' && i + 2 < encoded.Length && IsHex(encoded[i + 1]) && IsHex(encoded[i + 2]))
                {
                    rented[length++] = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                    i += 2;
                }
                else
                {
                    rented[length++] = b;
                }
            }

            try
            {
                return StrictUtf8.GetString(rented, 0, length);
            }
            catch (DecoderFallbackException)
            {
                return null;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool IsHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
