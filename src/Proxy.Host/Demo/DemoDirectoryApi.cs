using System.Text.Json;
using Proxy.Routing.Regions;
using Proxy.Routing.Regions.Control;

namespace Proxy.Host.Demo;

/// <summary>
/// The demo control silo's directory API (docs/DIRECTORY.md), served from the demo directory file, read on every call
/// so that an edit shows as soon as the proxy's cache lets it (or after <c>POST /admin/directory/invalidate</c>).
/// </summary>
internal static class DemoDirectoryApi
{
    public static void Map(WebApplication app, string directoryFile)
    {
        var defaults = new ControlDirectoryOptions();
        app.MapGet(Route(defaults.IntegrationByIdPath, "{integrationId:long}"), (long integrationId) =>
            Integration(directoryFile, d => d.FindIntegration(integrationId)));
        app.MapGet(Route(defaults.IntegrationPath, "{provider}", "{externalId}"), (string provider, string externalId) =>
            Integration(directoryFile, d => d.FindIntegration(provider, externalId)));
        app.MapGet(Route(defaults.OrganizationPath, "{organizationId:long}"), (long organizationId) =>
        {
            var organization = Load(directoryFile).FindOrganization(organizationId);
            return organization is null
                ? Results.NotFound()
                : Json(JsonSerializer.Serialize(Answer(organization), ControlDirectoryJsonContext.Default.ControlOrganizationAnswer));
        });
    }

    private static IResult Integration(string directoryFile, Func<IntegrationDirectory, DirectoryIntegration?> find)
    {
        var directory = Load(directoryFile);
        var integration = find(directory);
        if (integration is null)
        {
            return Results.NotFound();
        }

        var organizations = (integration.Organizations ?? []).Select(directory.FindOrganization).OfType<DirectoryOrganization>().Select(Answer).ToArray();
        var answer = new ControlIntegrationAnswer(integration.Id, integration.Status, organizations);
        return Json(JsonSerializer.Serialize(answer, ControlDirectoryJsonContext.Default.ControlIntegrationAnswer));
    }

    private static ControlOrganizationAnswer Answer(DirectoryOrganization o) => new(o.Id, o.Slug, o.Region, o.Status);

    private static IntegrationDirectory Load(string directoryFile) => IntegrationDirectory.Parse(File.ReadAllBytes(directoryFile));

    private static IResult Json(string body) => Results.Text(body, "application/json");

    /// <summary>The path template with its placeholders as route parameters (with constraints where they are numbers).</summary>
    private static string Route(string template, params string[] parameters)
    {
        foreach (var parameter in parameters)
        {
            var name = parameter.Split(':')[0].Trim('{', '}');
            template = template.Replace("{" + name + "}", parameter, StringComparison.Ordinal);
        }

        return template;
    }
}
