using Proxy.Routing.Parsers;
using Proxy.Routing.Problems;
using Proxy.Routing.Requests;
using Proxy.Routing.Rules;
using Proxy.Routing.Signatures;

namespace Proxy.Routing;

/// <summary>
/// What a webhook asks for, before any I/O: control flows, the provider's signature, the provider rules, its parser's intent and the
/// methods the endpoint takes. Real routing and the dry run (<c>POST /admin/explain</c>) both decide here.
/// </summary>
internal sealed class RoutingDecider(ParserRegistry parsers, SignatureRegistry signatures, ProviderRulesSource rules, TimeProvider time)
{
    public RoutingIntent Decide(string provider, WebhookRequest webhook)
    {
        if (WebhookPath.IsControlFlow(webhook.Path))
        {
            return new RoutingIntent.Control("install and link pages are served by control");
        }

        if (!parsers.TryGet(provider, out var parser))
        {
            return new RoutingIntent.Control($"no parser for provider '{provider}'");
        }

        if (signatures.Verify(provider, webhook, time.GetUtcNow(), out var reason) == SignatureVerdict.Invalid)
        {
            return new RoutingIntent.Reject(401, ProblemTypes.InvalidSignature, $"the {provider} signature is invalid: {reason}");
        }

        // The provider rules' endpoint entries (config/provider-rules.json): control and drop are decided here, before
        // the body is parsed; "deliver" leaves the endpoint to its parser.
        if (rules.Current.For(provider) is { } ruleSet)
        {
            var endpoint = WebhookPath.EndpointAfterProvider(webhook.Path);
            switch (ruleSet.ForEndpoint(endpoint))
            {
                case RuleAction.Control:
                    return new RoutingIntent.Control($"the provider rules send {provider} '{endpoint}' to control");
                case RuleAction.Drop:
                    return new RoutingIntent.Respond(ruleSet.DropStatus, $"the provider rules drop {provider} '{endpoint}'");
            }
        }

        RoutingIntent intent;
        try
        {
            intent = parser.Parse(webhook);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            // System.Text.Json refuses to hand out a string holding a lone surrogate or invalid UTF-8: that is the
            // sender's malformed body, never the proxy's failure.
            return new RoutingIntent.Reject(400, ProblemTypes.MalformedBody, $"the {provider} payload holds a value that cannot be read as text");
        }

        // Only control serves every method; what goes to regions or is answered here takes the provider's method.
        var methods = intent switch
        {
            RoutingIntent.ToRegions regions => regions.Methods,
            RoutingIntent.Respond => "POST",
            _ => null,
        };
        return methods is null || AllowsMethod(methods, webhook.Method) ? intent
            : new RoutingIntent.Reject(405, ProblemTypes.MethodNotAllowed, $"this {provider} endpoint takes {methods}, not {Printable(webhook.Method)}")
            {
                Allow = methods,
            };
    }

    private static bool AllowsMethod(string methods, string method)
    {
        foreach (var range in methods.AsSpan().Split(','))
        {
            if (methods.AsSpan(range).Trim().Equals(method, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string Printable(string method) => method.Length <= 16 ? method : string.Concat(method.AsSpan(0, 16), "...");
}
