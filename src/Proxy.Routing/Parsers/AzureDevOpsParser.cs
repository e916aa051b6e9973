using System.Text.Json;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;

namespace Proxy.Routing.Parsers;

/// <summary>
/// Azure DevOps (<c>vsts</c>) work-item service hooks: the collection (organization) id in
/// <c>resourceContainers.collection.id</c> is the integration. They go through the mailbox, bucketed by work item; everything else
/// (extension configuration, search) is served by control.
/// </summary>
public sealed class AzureDevOpsParser : IIntegrationParser
{
    public string Provider => "vsts";

    public RoutingIntent Parse(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = WebhookPath.SegmentsAfterProvider(request.Path);
        if (!EndpointPath.Is(segments, "issue-updated"))
        {
            return new RoutingIntent.Control("vsts pages other than the work-item webhook are served by control");
        }

        if (!PayloadReader.TryParseJson(request.Body, out var document))
        {
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, "the Azure DevOps webhook body is not valid JSON");
        }

        using (document)
        {
            var root = document!.RootElement;
            var collection = root.ValueKind == JsonValueKind.Object
                ? PayloadReader.StringAt(root, "resourceContainers", "collection", "id")
                : null;
            if (collection is null)
            {
                return new RoutingIntent.Reject(400, ProblemTypes.MissingIdentifier,
                    "the Azure DevOps webhook has no resourceContainers.collection.id");
            }

            var eventType = PayloadReader.StringAt(root, "eventType") ?? "event";
            return new RoutingIntent.ToRegions(new RoutingTarget.ExternalIntegration(Provider, collection), RegionDelivery.Mailbox,
                $"vsts {eventType}")
            {
                MailboxBucketId = MailboxBuckets.Of(WorkItemId(root)),
            };
        }
    }

    /// <summary>
    /// The work item: <c>resource.workItemId</c> on updates (their <c>resource.id</c> is the update's number), else
    /// <c>resource.id</c> (created, deleted, restored and commented events carry the work item itself).
    /// </summary>
    private static long? WorkItemId(JsonElement root)
        => PayloadReader.NumericIdAt(root, "resource", "workItemId") ?? PayloadReader.NumericIdAt(root, "resource", "id");
}
