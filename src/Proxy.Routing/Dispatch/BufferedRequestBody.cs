namespace Proxy.Routing.Dispatch;

/// <summary>
/// The request body already read into memory (a webhook read once, or a plain route's body read for signing): what
/// YARP's forwarder streams to the silo, and what <see cref="EdgeSignatureTransform"/> signs.
/// </summary>
internal sealed class BufferedRequestBody(ReadOnlyMemory<byte> bytes)
{
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;
}
