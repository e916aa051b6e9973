using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Proxy.Routing.Requests;
using Yarp.ReverseProxy.Forwarder;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// One webhook being dispatched: its HTTP context, the request read once, the settings it started with, its
/// <c>webhook route</c> span and its deadline. The deadline (<c>Routing:SyncDeadline</c> from arrival) bounds region
/// resolution and synchronous region calls.
/// </summary>
internal sealed class WebhookExchange(HttpContext context, WebhookRequest webhook, string provider, RoutingOptions settings,
    Activity? activity, CancellationToken deadline)
{
    public HttpContext Context { get; } = context;

    public WebhookRequest Webhook { get; } = webhook;

    public string Provider { get; } = provider;

    public RoutingOptions Settings { get; } = settings;

    /// <summary>Cancelled when the sync deadline passes or the sender goes away.</summary>
    public CancellationToken Deadline { get; } = deadline;

    public Activity? Activity { get; } = activity;

    /// <summary>True when the deadline, not the sender, ended the wait.</summary>
    public bool DeadlinePassed => Deadline.IsCancellationRequested && !Context.RequestAborted.IsCancellationRequested;

    public HttpTransformer Transformer => Context.GetRouteModel().Transformer;
}
