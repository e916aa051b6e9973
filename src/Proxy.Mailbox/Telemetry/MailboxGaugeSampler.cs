using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Proxy.Mailbox;

/// <summary>
/// Reads depth, dead letters and oldest age from the store for the observable gauges (whose callbacks cannot wait
/// on I/O). With Redis every replica reports the same, shared figures.
/// </summary>
internal sealed partial class MailboxGaugeSampler(
    IMailboxStore store,
    MailboxMetrics metrics,
    IOptionsMonitor<MailboxOptions> options,
    TimeProvider time,
    ILogger<MailboxGaugeSampler> logger) : BackgroundService
{
    internal async Task SampleAsync(CancellationToken cancellationToken) =>
        metrics.UpdateStats(await store.GetStatsAsync(cancellationToken).ConfigureAwait(false));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SampleAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.SampleFailed(logger, ex);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(options.CurrentValue.GaugeIntervalSeconds), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not read mailbox stats for the gauges")]
        public static partial void SampleFailed(ILogger logger, Exception exception);
    }
}
