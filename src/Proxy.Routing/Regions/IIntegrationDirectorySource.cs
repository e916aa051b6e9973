namespace Proxy.Routing.Regions;

/// <summary>Where the file region directory gets the current directory version; <c>directory.json</c> by default.</summary>
public interface IIntegrationDirectorySource
{
    IntegrationDirectory Current { get; }
}
