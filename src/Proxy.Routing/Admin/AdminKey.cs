using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Proxy.Routing.Problems;

namespace Proxy.Routing.Admin;

/// <summary>
/// The key every admin endpoint asks for in <c>X-Admin-Key</c>: <c>Admin:ApiKey</c>, or its alias
/// <c>Mailbox:Admin:ApiKey</c>. With neither set the admin endpoints are off and answer 404.
/// </summary>
internal static class AdminKey
{
    public const string Header = "X-Admin-Key";
    public const string Key = "Admin:ApiKey";
    public const string AliasKey = "Mailbox:Admin:ApiKey";

    public static string? Configured(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var key = configuration[Key];
        return string.IsNullOrEmpty(key) ? NullIfEmpty(configuration[AliasKey]) : key;
    }

    /// <summary>True when the request may go on; otherwise false, and the request was answered with a problem.</summary>
    public static async Task<bool> AuthorizeAsync(HttpContext context, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(context);
        var configured = Configured(configuration);
        if (configured is null)
        {
            await ProblemResponse.WriteAsync(context, 404, ProblemTypes.AdminDisabled, ProblemResponse.TitleFor(404),
                $"Set {Key} to enable the admin endpoints.");
            return false;
        }

        if (!context.Request.Headers.TryGetValue(Header, out var presented) || presented.Count != 1 || string.IsNullOrEmpty(presented[0]))
        {
            await ProblemResponse.WriteAsync(context, 401, ProblemTypes.MissingAdminKey, ProblemResponse.TitleFor(401),
                $"Send the admin key in the {Header} header.");
            return false;
        }

        // Hashes of both keys compared in constant time: neither the content nor the length leaks through timing.
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(configured)),
                SHA256.HashData(Encoding.UTF8.GetBytes(presented[0]!))))
        {
            await ProblemResponse.WriteAsync(context, 403, ProblemTypes.WrongAdminKey, ProblemResponse.TitleFor(403),
                $"The {Header} header does not match the configured key.");
            return false;
        }

        return true;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
