namespace Proxy.Host.Tests;

/// <summary>Where the checkout the tests were built from lives.</summary>
internal static class RepositoryPaths
{
    /// <summary>The folder holding Proxy.sln, found upwards from the test binaries.</summary>
    public static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Proxy.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Proxy.sln not found above the test folder");
    }
}
