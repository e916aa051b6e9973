using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Proxy.Billing.Messages;

namespace Proxy.Billing.Flags;

/// <summary>A project's flags as the silo's API carries them.</summary>
public sealed record ProjectFlagsDocument([property: JsonPropertyName("flags")] ulong Flags);

/// <summary>The bits to set on a project.</summary>
public sealed record AddProjectFlagsRequest([property: JsonPropertyName("add")] ulong Add);

/// <summary>
/// Asks a (region) silo for project flags: <c>GET {base}projects/{id}/flags</c> answers <c>{"flags":n}</c>, and
/// <c>POST {base}projects/{id}/flags</c> with <c>{"add":n}</c> bit-ors and answers the flags after it. 404 means no
/// such project; any other failure is an error, and the batch is retried.
/// </summary>
internal sealed class HttpProjectFlagsStore(IHttpClientFactory clients) : IProjectFlagsStore
{
    public const string ClientName = "billing-project-flags";

    public async ValueTask<ProjectFlags?> GetFlagsAsync(long projectId, CancellationToken cancellationToken)
    {
        using var response = await clients.CreateClient(ClientName).GetAsync(Path(projectId), cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    public async ValueTask<ProjectFlags?> AddFlagsAsync(long projectId, ProjectFlags flags, CancellationToken cancellationToken)
    {
        using var response = await clients.CreateClient(ClientName).PostAsJsonAsync(Path(projectId),
            new AddProjectFlagsRequest((ulong)flags), BillingJsonContext.Default.AddProjectFlagsRequest, cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    private static string Path(long projectId) => string.Create(CultureInfo.InvariantCulture, $"projects/{projectId}/flags");

    private static async Task<ProjectFlags?> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        var document = await response.Content.ReadFromJsonAsync(BillingJsonContext.Default.ProjectFlagsDocument, cancellationToken)
            ?? throw new HttpRequestException("the project flags answer was empty");
        return (ProjectFlags)document.Flags;
    }
}
