using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Billing.Telemetry;
using Proxy.Billing.Transport;

namespace Proxy.Billing.Processing;

/// <summary>
/// Reads batches until the host stops. A batch that has been read is always finished (processed and committed)
/// even when shutdown begins meanwhile; any failure is logged and retried after a doubling pause.
/// </summary>
internal sealed class BillingConsumerService(
    IBillingTransport transport,
    BatchProcessor processor,
    BillingMetrics metrics,
    IOptions<BillingOptions> options,
    TimeProvider timeProvider,
    ILogger<BillingConsumerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        metrics.ObserveLagOf(transport);
        var settings = options.Value;
        var delay = settings.InitialRetryDelay;
        var started = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!started)
                {
                    await transport.StartAsync(stoppingToken);
                    started = true;
                    logger.ConsumerStarted(transport.System, transport.InputName, transport.ConsumerGroup);
                }

                var batch = await transport.ReadBatchAsync(stoppingToken);
                if (batch.Count > 0)
                {
                    // Not the stopping token: a batch in flight is drained, not abandoned.
                    await processor.ProcessAsync(transport, batch, CancellationToken.None);
                }

                delay = settings.InitialRetryDelay;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Redis or Kafka away, a timeout, a fenced producer: start over from the last commit after a pause.
                started = false;
                logger.ConsumerFailed(ex, delay);
                try
                {
                    await Task.Delay(delay, timeProvider, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, settings.MaxRetryDelay.Ticks));
            }
        }

        logger.ConsumerStopped();
    }
}
