using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Proxy.Routing.Dispatch;

/// <summary>
/// Signs YARP's own forwards (control, first region, plain routes) with <c>X-Edge-Signature</c>. It runs after the
/// route's transforms, so it fixes the address they produced and signs that. A plain route's body is read into memory
/// first, because the signature covers the body and YARP would otherwise stream it.
/// </summary>
internal sealed class EdgeSignatureTransform : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var signer = context.Services.GetRequiredService<EdgeRequestSigner>();
        if (!signer.Enabled)
        {
            return;
        }

        context.AddRequestTransform(async transform =>
        {
            var message = transform.ProxyRequest;
            if (message.Options.TryGetValue(EdgeRequestSigner.SignedWhenSent, out var later) && later)
            {
                return;
            }

            // What StructuredTransformer would set after the last transform; set here so the signed target is the sent one.
            message.RequestUri ??= RequestUtilities.MakeDestinationAddress(transform.DestinationPrefix, transform.Path,
                transform.Query.QueryString);
            var body = await BodyOfAsync(transform.HttpContext, message);
            signer.Sign(message, body.Span);
        });
    }

    private static async ValueTask<ReadOnlyMemory<byte>> BodyOfAsync(HttpContext context, HttpRequestMessage message)
    {
        if (context.Features.Get<BufferedRequestBody>() is { } buffered)
        {
            return buffered.Bytes;
        }

        if (message.Content is null)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        // YARP's request content reads HttpContext.Request.Body when it sends, so the copy read here is what goes out.
        using var copy = new MemoryStream();
        await context.Request.Body.CopyToAsync(copy, context.RequestAborted);
        var bytes = copy.ToArray();
        context.Request.Body = new MemoryStream(bytes, writable: false);
        context.Features.Set(new BufferedRequestBody(bytes));
        return bytes;
    }
}
