using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Telemetry;

namespace Proxy.Routing.Dispatch;

/// <summary>One region's request, built on the request thread and sent later.</summary>
internal sealed record DeferredLeg(RegionTarget Target, HttpRequestMessage Request)
{
    public string Region => Target.Name;
}

/// <summary>
/// The deferred mode: the sender was answered at once; the webhook now goes to its region(s), and the answer of the
/// last region (by name) that answered 2xx is posted as JSON to the sender's <c>response_url</c>. Work in flight is
/// tracked by <see cref="BackgroundSends"/>, which finishes it before the host stops.
/// </summary>
internal sealed partial class DeferredAnswers(
    IHttpClientFactory httpClients,
    RegionRequestBuilder builder,
    BackgroundSends background,
    RoutingMetrics metrics,
    IOptionsMonitor<RoutingOptions> options,
    TimeProvider time,
    ILogger<DeferredAnswers> logger)
{
    public const string ResponseUrlClient = "edge-proxy-response-url";

    /// <summary>Attempts to post one answer (the first and two retries).</summary>
    private const int PostAttempts = 3;

    public void Start(string provider, string responseUrl, IReadOnlyList<DeferredLeg> legs)
    {
        ArgumentNullException.ThrowIfNull(legs);
        var parent = Activity.Current;
        background.Track(Task.Run(() => RunAsync(provider, responseUrl, legs, parent?.Context)));
    }

    private async Task RunAsync(string provider, string responseUrl, IReadOnlyList<DeferredLeg> legs, ActivityContext? parent)
    {
        using var activity = RoutingActivity.Source.StartActivity(RoutingActivity.DeferredSpanName, ActivityKind.Internal, parent ?? default);
        activity?.SetTag(TelemetryAttributes.Provider, provider);
        var settings = options.CurrentValue;
        try
        {
            using var timeout = new CancellationTokenSource(settings.RegionTimeout, time);
            var answers = await Task.WhenAll(legs.Select(leg => AskAsync(provider, leg, timeout.Token)));
            var answer = answers.Where(a => a is not null).OrderBy(a => a!.Region, StringComparer.Ordinal).LastOrDefault();
            if (answer is null)
            {
                Finish(activity, provider, "no_region_answer");
                return;
            }

            if (answer.Body.Length == 0)
            {
                Finish(activity, provider, "empty_answer");
                return;
            }

            activity?.SetTag(TelemetryAttributes.Region, answer.Region);
            Finish(activity, provider, await PostAsync(responseUrl, answer) ? "posted" : "post_failed");
        }
        catch (Exception ex)
        {
            // Never let a background answer take the process down.
            LogFailed(logger, provider, ex);
            Finish(activity, provider, "post_failed");
        }
    }

    private async Task<Answer?> AskAsync(string provider, DeferredLeg leg, CancellationToken cancellationToken)
    {
        using var activity = RoutingActivity.StartRegionCall(leg.Region, RoutingModes.Deferred, provider, leg.Target.Destination.Model.Config.Address);
        var started = time.GetTimestamp();
        try
        {
            using var response = await builder.SendAsync(leg.Target, leg.Request, cancellationToken);
            metrics.RegionCall(leg.Region, RoutingModes.Deferred, (int)response.StatusCode, time.GetElapsedTime(started));
            RoutingActivity.Answered(activity, (int)response.StatusCode, null);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            return new Answer(leg.Region, await response.Content.ReadAsByteArrayAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            var errorType = ForwardingErrors.Classify(ex);
            metrics.RegionCall(leg.Region, RoutingModes.Deferred, null, time.GetElapsedTime(started), errorType);
            metrics.RegionFailure(provider, RoutingModes.Deferred, leg.Region, errorType);
            RoutingActivity.Answered(activity, null, errorType);
            return null;
        }
        finally
        {
            leg.Request.Dispose();
        }
    }

    private async Task<bool> PostAsync(string responseUrl, Answer answer)
    {
        var client = httpClients.CreateClient(ResponseUrlClient);
        for (var attempt = 1; attempt <= PostAttempts; attempt++)
        {
            try
            {
                using var content = new ByteArrayContent(answer.Body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync(new Uri(responseUrl), content);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }

                LogPostRejected(logger, (int)response.StatusCode, attempt);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                LogPostRejected(logger, null, attempt);
            }

            if (attempt < PostAttempts)
            {
                await Task.Delay(options.CurrentValue.DeferredRetryDelay, time);
            }
        }

        return false;
    }

    private void Finish(Activity? activity, string provider, string outcome)
    {
        activity?.SetTag(TelemetryAttributes.Outcome, outcome);
        metrics.Deferred(provider, outcome);
    }

    private sealed record Answer(string Region, byte[] Body);

    [LoggerMessage(EventId = 500, Level = LogLevel.Error, Message = "A deferred {Provider} answer failed")]
    private static partial void LogFailed(ILogger logger, string provider, Exception exception);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "The response_url refused the answer (status {Status}, attempt {Attempt})")]
    private static partial void LogPostRejected(ILogger logger, int? status, int attempt);
}
