using System.Diagnostics.CodeAnalysis;
using Proxy.Mailbox;
using Proxy.Routing.Dispatch;
using Proxy.Routing.Requests;

namespace Proxy.Host.Wiring;

/// <summary>Routing's mailbox port, served by the mailbox store: name the mailbox, store one entry per region, wake the drainer.</summary>
internal sealed class MailboxBridge(IMailboxNamer namer, IMailboxStore store, IMailboxSignal signal, TimeProvider time) : IWebhookMailbox
{
    public async Task<string> AcceptAsync(WebhookRequest webhook, string provider, string identifier, long? bucketId,
        IReadOnlyList<string> regions, CancellationToken cancellationToken)
    {
        var mailbox = await namer.MailboxForAsync(provider, identifier, bucketId, cancellationToken);
        var headers = new List<KeyValuePair<string, string>>(webhook.Headers.Count);
        foreach (var (name, values) in webhook.Headers)
        {
            foreach (var value in values)
            {
                headers.Add(new(name, value ?? string.Empty));
            }
        }

        var entries = MailboxEntry.ForRegions(mailbox, regions, webhook.Method, webhook.Path + webhook.Query, headers,
            webhook.Body, time.GetUtcNow());
        await store.AppendAsync(entries, cancellationToken);
        signal.Notify(mailbox);
        return mailbox;
    }
}

/// <summary>Mailbox deliveries go through the region's YARP cluster: its invoker and one of its available destinations.</summary>
internal sealed class YarpRegionEndpoints(RegionRequestBuilder builder) : IRegionEndpoints
{
    public bool TryGet(string region, [NotNullWhen(true)] out HttpMessageInvoker? invoker, [NotNullWhen(true)] out Uri? baseAddress)
    {
        invoker = null;
        baseAddress = null;
        if (!builder.TryPickRegion(region, null, out var target, out _))
        {
            return false;
        }

        invoker = target.Invoker;
        baseAddress = new Uri(target.Destination.Model.Config.Address);
        return true;
    }
}
