using Yarp.ReverseProxy.Configuration;

namespace Proxy.Routing.Configuration;

/// <summary>Tells the files YARP reads whether YARP applied their edit: only then is a reload reported accepted.</summary>
internal sealed class ConfigApplyListener(IEnumerable<ConfigFileStatus> files) : IConfigChangeListener
{
    public void ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
        foreach (var file in files.Where(f => f.AppliedByProxy))
        {
            file.Applied();
        }
    }

    public void ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception)
    {
        var error = exception is AggregateException aggregate
            ? string.Join("; ", aggregate.Flatten().InnerExceptions.Select(e => e.Message))
            : exception.Message;
        foreach (var file in files.Where(f => f.AppliedByProxy))
        {
            file.ApplyFailed($"YARP could not apply it: {error}");
        }
    }

    public void ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    public void ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception)
    {
    }
}
