namespace Proxy.Signing;

/// <summary>Why a request's <c>X-Edge-Signature</c> was refused.</summary>
public enum EdgeSignatureFailure
{
    None = 0,

    /// <summary>No header, or an empty one.</summary>
    Missing,

    /// <summary>The header does not parse: fields missing or repeated, a timestamp that is not a number, hex of the wrong length.</summary>
    Malformed,

    /// <summary>The key id is not one this verifier knows.</summary>
    UnknownKey,

    /// <summary>The timestamp is further from now than the tolerance (a replay, or a clock far off).</summary>
    OutsideWindow,

    /// <summary>The signature is not the HMAC of this request under the named key.</summary>
    Mismatch,
}
