using Yarp.ReverseProxy.Forwarder;

namespace Proxy.Routing.Dispatch;

/// <summary>Low-cardinality <c>error.type</c> values for failed region calls.</summary>
internal static class ForwardingErrors
{
    public const string Timeout = "timeout";
    public const string NoDestination = "no_available_destinations";
    public const string NotConfigured = "region_not_configured";

    public static string Classify(Exception exception) => exception switch
    {
        OperationCanceledException => Timeout,
        HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } http => SnakeCase(http.HttpRequestError.ToString()),
        HttpRequestException => "http_request_error",
        _ => exception.GetType().Name,
    };

    public static string Classify(ForwarderError error) => SnakeCase(error.ToString());

    private static string SnakeCase(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }
}
