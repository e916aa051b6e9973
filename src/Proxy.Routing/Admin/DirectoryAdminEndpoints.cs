using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Proxy.Routing.Problems;
using Proxy.Routing.Regions.Invalidation;

namespace Proxy.Routing.Admin;

/// <summary>
/// <c>POST /admin/directory/invalidate</c> (behind the admin key): drops cached directory answers of one integration
/// or organization on every replica. Body <c>{"provider":"slack","externalId":"T1"}</c>, <c>{"integrationId":10}</c>
/// or <c>{"organizationId":1}</c>; 202, or 400 problem+json for any other body.
/// </summary>
public static class DirectoryAdminEndpoints
{
    public const string InvalidatePath = "/admin/directory/invalidate";

    private const int MaxBodyBytes = 16 * 1024;

    public static IEndpointConventionBuilder MapDirectoryAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPost(InvalidatePath, InvalidateAsync);
    }

    private static async Task InvalidateAsync(HttpContext context)
    {
        var services = context.RequestServices;
        if (!await AdminKey.AuthorizeAsync(context, services.GetRequiredService<IConfiguration>()))
        {
            return;
        }

        var (what, error) = await ReadAsync(context);
        if (what is null)
        {
            await ProblemResponse.WriteAsync(context, 400, ProblemTypes.MalformedBody, ProblemResponse.TitleFor(400),
                $"{error}; send {{\"provider\":\"slack\",\"externalId\":\"T1\"}}, {{\"integrationId\":10}} or {{\"organizationId\":1}}");
            return;
        }

        var (tags, published) = await services.GetRequiredService<DirectoryInvalidator>().InvalidateAsync(what, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteStartArray("tags");
        foreach (var tag in tags)
        {
            json.WriteStringValue(tag);
        }

        json.WriteEndArray();
        json.WriteBoolean("published", published);
        json.WriteEndObject();
    }

    private static async Task<(DirectoryInvalidation? What, string? Error)> ReadAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return (null, "the body is too large");
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        if (buffer.Length > MaxBodyBytes)
        {
            return (null, "the body is too large");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException)
        {
            return (null, "the body is not JSON");
        }

        using (document)
        {
            return Parse(document.RootElement);
        }
    }

    internal static (DirectoryInvalidation? What, string? Error) Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, "the body is not a JSON object");
        }

        var names = root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        switch (names)
        {
            case ["externalId", "provider"]:
                return root.GetProperty("provider") is { ValueKind: JsonValueKind.String } provider && provider.GetString() is { Length: > 0 } p
                    && root.GetProperty("externalId") is { ValueKind: JsonValueKind.String } external && external.GetString() is { Length: > 0 } x
                    ? (new DirectoryInvalidation.ExternalIntegration(p, x), null)
                    : (null, "provider and externalId must be non-empty strings");
            case ["integrationId"]:
                return root.GetProperty("integrationId") is { ValueKind: JsonValueKind.Number } id && id.TryGetInt64(out var integrationId)
                    ? (new DirectoryInvalidation.IntegrationId(integrationId), null)
                    : (null, "integrationId must be an integer");
            case ["organizationId"]:
                return root.GetProperty("organizationId") is { ValueKind: JsonValueKind.Number } org && org.TryGetInt64(out var organizationId)
                    ? (new DirectoryInvalidation.Organization(organizationId), null)
                    : (null, "organizationId must be an integer");
            default:
                return (null, "the body names neither one integration nor one organization");
        }
    }
}
