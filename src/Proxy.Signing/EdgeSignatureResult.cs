namespace Proxy.Signing;

/// <summary>The verdict on one request: valid, or the reason it is not; the key id when the header named one.</summary>
public readonly record struct EdgeSignatureResult(EdgeSignatureFailure Failure, string? KeyId, long? Timestamp)
{
    public bool IsValid => Failure == EdgeSignatureFailure.None;
}
