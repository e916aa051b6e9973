namespace Proxy.Routing.Regions;

/// <summary>The directory source could not answer (control silo down, slow or answering an error).</summary>
public sealed class DirectoryUnavailableException : Exception
{
    public DirectoryUnavailableException()
    {
    }

    public DirectoryUnavailableException(string message)
        : base(message)
    {
    }

    public DirectoryUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Low-cardinality reason for metrics (<c>timeout</c>, <c>connection_error</c>, <c>status_503</c>...).</summary>
    public string ErrorType { get; init; } = "unavailable";
}
