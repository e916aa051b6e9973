using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.AspNetCore.Http;
using Proxy.Routing.Requests;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// The one place that builds a request to a silo outside YARP's forwarder (fan-out legs, deferred legs, mailbox
/// deliveries, directory calls to control): the destination is chosen by the cluster's load-balancing policy among the
/// destinations YARP's health checks consider available; the route's transforms add the same forwarding headers a
/// synchronous forward carries; the cluster's <c>HttpRequest</c> settings give the HTTP version, version policy and
/// activity timeout; <see cref="SendAsync"/> signs every request as it leaves (<c>X-Edge-Signature</c>).
/// </summary>
public sealed class RegionRequestBuilder
{
    /// <summary>
    /// Headers the transport re-creates, and hop-by-hop headers (RFC 9110 §7.6.1), never replayed from storage. Host is
    /// the destination's, as in a forward without <c>RequestHeaderOriginalHost</c>.
    /// </summary>
    private static readonly HashSet<string> s_transportHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    };

    /// <summary>Where transforms write the captured request; only its path and query are kept.</summary>
    private const string CapturePrefix = "http://captured.invalid/";

    private static readonly HttpContext s_noRequest = new DefaultHttpContext();

    private readonly RegionClusters _clusters;
    private readonly Dictionary<string, ILoadBalancingPolicy> _policies;
    private readonly EdgeRequestSigner _signer;

    internal RegionRequestBuilder(RegionClusters clusters, IEnumerable<ILoadBalancingPolicy> policies, EdgeRequestSigner signer)
    {
        ArgumentNullException.ThrowIfNull(policies);
        _clusters = clusters;
        _signer = signer;
        _policies = policies.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
    }

    public RegionClusters Clusters => _clusters;

    /// <summary>
    /// The region's cluster and a destination of it; when there is none, false and the low-cardinality
    /// <c>error.type</c> saying why (<c>region_not_configured</c>, <c>no_available_destinations</c>).
    /// </summary>
    public bool TryPickRegion(string region, HttpContext? context, [NotNullWhen(true)] out RegionTarget? target,
        [NotNullWhen(false)] out string? errorType)
        => TryPick(region, _clusters.ForRegion(region), context, out target, out errorType);

    /// <summary>The same for a cluster named by id (the control cluster).</summary>
    public bool TryPickCluster(string clusterId, string name, HttpContext? context, [NotNullWhen(true)] out RegionTarget? target,
        [NotNullWhen(false)] out string? errorType)
        => TryPick(name, _clusters.ById(clusterId), context, out target, out errorType);

    private bool TryPick(string name, ClusterState? cluster, HttpContext? context, [NotNullWhen(true)] out RegionTarget? target,
        [NotNullWhen(false)] out string? errorType)
    {
        target = null;
        if (cluster is null)
        {
            errorType = ForwardingErrors.NotConfigured;
            return false;
        }

        var destination = PickDestination(cluster, context);
        if (destination is null)
        {
            errorType = ForwardingErrors.NoDestination;
            return false;
        }

        errorType = null;
        target = new RegionTarget(name, cluster, destination);
        return true;
    }

    /// <summary>A destination chosen as YARP would: the cluster's policy (PowerOfTwoChoices by default) over the available ones.</summary>
    public DestinationState? PickDestination(ClusterState cluster, HttpContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var available = cluster.DestinationsState.AvailableDestinations;
        if (available.Count <= 1)
        {
            return available.Count == 0 ? null : available[0];
        }

        var name = cluster.Model.Config.LoadBalancingPolicy;
        var policy = _policies.GetValueOrDefault(string.IsNullOrEmpty(name) ? LoadBalancingPolicies.PowerOfTwoChoices : name)
            ?? _policies.GetValueOrDefault(LoadBalancingPolicies.PowerOfTwoChoices);
        return policy is null ? available[Random.Shared.Next(available.Count)] : policy.PickDestination(context ?? s_noRequest, cluster, available);
    }

    /// <summary>
    /// One silo's copy of a live webhook: the route's transforms run over the request's context (on the request's own
    /// thread: HttpContext is not thread safe), over a new content object that shares the one body buffer.
    /// </summary>
    public static async ValueTask<HttpRequestMessage> BuildAsync(HttpContext context, WebhookRequest webhook, RegionTarget target,
        HttpTransformer transformer)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(webhook);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(transformer);
        var prefix = target.Destination.Model.Config.Address;
        var message = NewMessage(webhook.Method, target.Cluster, webhook.Body);
        await transformer.TransformRequestAsync(context, message, prefix, context.RequestAborted);
        message.RequestUri ??= RequestUtilities.MakeDestinationAddress(prefix, context.Request.Path, context.Request.QueryString);
        return message;
    }

    /// <summary>The webhook as the route's transforms would send it, for storage; <see cref="Build"/> replays it later.</summary>
    public static async ValueTask<StoredRequest> CaptureAsync(HttpContext context, WebhookRequest webhook, HttpTransformer transformer)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(webhook);
        ArgumentNullException.ThrowIfNull(transformer);
        using var message = new HttpRequestMessage { Method = HttpMethod.Parse(webhook.Method) };
        // A stored copy carries no signature: each delivery is signed when it is sent.
        message.Options.Set(EdgeRequestSigner.SignedWhenSent, true);
        // A content object makes the transforms copy the content headers (Content-Type...) as well.
        message.Content = new ReadOnlyMemoryContent(webhook.Body);
        await transformer.TransformRequestAsync(context, message, CapturePrefix, context.RequestAborted);
        message.RequestUri ??= RequestUtilities.MakeDestinationAddress(CapturePrefix, context.Request.Path, context.Request.QueryString);

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in message.Headers.NonValidated)
        {
            if (!s_transportHeaders.Contains(name))
            {
                foreach (var value in values)
                {
                    headers.Add(new(name, value));
                }
            }
        }

        foreach (var (name, values) in message.Content.Headers.NonValidated)
        {
            if (!s_transportHeaders.Contains(name))
            {
                foreach (var value in values)
                {
                    headers.Add(new(name, value));
                }
            }
        }

        return new StoredRequest(webhook.Method, message.RequestUri.PathAndQuery, headers);
    }

    /// <summary>A stored webhook for one silo: the destination's address (with any path prefix) + the stored path.</summary>
    public static HttpRequestMessage Build(StoredRequest stored, ReadOnlyMemory<byte> body, RegionTarget target)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(target);
        var address = new Uri(target.Destination.Model.Config.Address, UriKind.Absolute);
        var path = stored.PathAndQuery.StartsWith('/') ? stored.PathAndQuery : "/" + stored.PathAndQuery;
        var message = NewMessage(stored.Method, target.Cluster, body);
        message.RequestUri = new Uri(address.GetLeftPart(UriPartial.Authority) + address.AbsolutePath.TrimEnd('/') + path, UriKind.Absolute);
        foreach (var (name, value) in stored.Headers)
        {
            if (s_transportHeaders.Contains(name) || name.StartsWith(HeaderPolicy.InternalPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content ??= EmptyContent();
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return message;
    }

    /// <summary>
    /// Signs the request (now, over the bytes its content holds) and sends it through the cluster's own invoker, bounded
    /// by <paramref name="cancellationToken"/> and by the cluster's <c>HttpRequest.ActivityTimeout</c> when one is set.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(RegionTarget target, HttpRequestMessage message,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(message);
        await _signer.SignAsync(message, cancellationToken);
        if (target.Cluster.Model.Config.HttpRequest?.ActivityTimeout is not { } activity || activity <= TimeSpan.Zero)
        {
            return await target.Invoker.SendAsync(message, cancellationToken);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(activity);
        return await target.Invoker.SendAsync(message, timeout.Token);
    }

    private static HttpRequestMessage NewMessage(string method, ClusterState cluster, ReadOnlyMemory<byte> body)
    {
        var requestConfig = cluster.Model.Config.HttpRequest;
        var message = new HttpRequestMessage
        {
            Method = HttpMethod.Parse(method),
            Version = requestConfig?.Version ?? HttpVersion.Version20,
            VersionPolicy = requestConfig?.VersionPolicy ?? HttpVersionPolicy.RequestVersionOrLower,
        };
        message.Options.Set(EdgeRequestSigner.SignedWhenSent, true);
        if (!body.IsEmpty || HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method))
        {
            // A new content object per silo over the one buffer: the bytes are shared, never copied.
            message.Content = new ReadOnlyMemoryContent(body);
        }

        return message;
    }

    private static ReadOnlyMemoryContent EmptyContent() => new(ReadOnlyMemory<byte>.Empty);
}
