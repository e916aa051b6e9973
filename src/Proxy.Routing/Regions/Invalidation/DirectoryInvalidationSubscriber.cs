using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Proxy.Routing.Regions.Caching;
using StackExchange.Redis;

namespace Proxy.Routing.Regions.Invalidation;

/// <summary>
/// Subscribes this replica to the invalidation channel, in the background so that a Redis that is away never holds up
/// the start; retried every <c>Redis:RetryAfter</c> until it works. StackExchange.Redis restores the subscription
/// after a reconnect.
/// </summary>
internal sealed partial class DirectoryInvalidationSubscriber(
    SharedRedisConnection redis,
    DirectoryInvalidator invalidator,
    IOptions<RedisOptions> options,
    TimeProvider time,
    ILogger<DirectoryInvalidationSubscriber> logger) : BackgroundService
{
    private volatile bool _subscribed;

    public bool IsSubscribed => _subscribed && redis.Current?.GetSubscriber().IsConnected(DirectoryInvalidator.Channel) == true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        Action<RedisChannel, RedisValue> handler = (_, message) => invalidator.ApplyAsync(message).ContinueWith(static _ => { },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        while (!stoppingToken.IsCancellationRequested)
        {
            ISubscriber? subscriber = null;
            try
            {
                var connection = await redis.GetAsync().WaitAsync(stoppingToken);
                subscriber = connection.GetSubscriber();
                await subscriber.SubscribeAsync(DirectoryInvalidator.Channel, handler)
                    .WaitAsync(settings.ConnectTimeout + settings.OperationTimeout, time, stoppingToken);
                _subscribed = true;
                LogSubscribed(logger);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is RedisException or TimeoutException)
            {
                LogSubscribeFailed(logger, settings.RetryAfter, ex);
                await ForgetAsync(subscriber, handler);
            }

            await Task.Delay(settings.RetryAfter, time, stoppingToken);
        }
    }

    /// <summary>A failed attempt may still have registered the handler locally: drop it so retries do not stack handlers.</summary>
    private static async Task ForgetAsync(ISubscriber? subscriber, Action<RedisChannel, RedisValue> handler)
    {
        if (subscriber is null)
        {
            return;
        }

        try
        {
            await subscriber.UnsubscribeAsync(DirectoryInvalidator.Channel, handler).WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
        }
    }

    [LoggerMessage(EventId = 233, Level = LogLevel.Information, Message = "Subscribed to directory invalidations")]
    private static partial void LogSubscribed(ILogger logger);

    [LoggerMessage(EventId = 234, Level = LogLevel.Warning,
        Message = "Could not subscribe to directory invalidations; retrying in {RetryAfter} (until then only local invalidations apply here)")]
    private static partial void LogSubscribeFailed(ILogger logger, TimeSpan retryAfter, Exception exception);
}
