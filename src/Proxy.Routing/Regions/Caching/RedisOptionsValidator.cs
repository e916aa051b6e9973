using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Proxy.Routing.Regions.Caching;

internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var errors = new List<string>();
        Bounded(errors, nameof(options.OperationTimeout), options.OperationTimeout, TimeSpan.FromMinutes(1));
        Bounded(errors, nameof(options.RetryAfter), options.RetryAfter, TimeSpan.FromHours(1));
        Bounded(errors, nameof(options.ConnectTimeout), options.ConnectTimeout, TimeSpan.FromMinutes(1));
        if (options.Enabled)
        {
            try
            {
                ConfigurationOptions.Parse(options.ConnectionString);
            }
            catch (Exception ex) when (ex is ArgumentException or RedisConnectionException)
            {
                errors.Add($"{RedisOptions.Section}:ConnectionString is not a StackExchange.Redis connection string: {ex.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Bounded(List<string> errors, string key, TimeSpan value, TimeSpan max)
    {
        if (value <= TimeSpan.Zero || value > max)
        {
            errors.Add($"{RedisOptions.Section}:{key} must be a positive duration of at most {max} (was {value}).");
        }
    }
}
