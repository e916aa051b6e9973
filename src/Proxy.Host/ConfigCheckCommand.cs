using Microsoft.Extensions.Options;
using Proxy.Host.Demo;
using Proxy.Routing;
using Proxy.Routing.Configuration;

namespace Proxy.Host;

/// <summary>
/// <c>check-config [dir]</c> (or <c>--check-config [dir]</c>), like <c>nginx -t</c>: runs the proxy's own config
/// validator (<see cref="ProxyConfigCheck"/>, the one used at start and on every reload) over a config folder with the
/// settings the proxy would start with; exit 0, or 1 with one line per problem on standard error. Nothing is started.
/// </summary>
internal static class ConfigCheckCommand
{
    public static int Run(string[] hostArgs, string? folder, TextWriter output, TextWriter error)
    {
        var contentRoot = HostingExtensions.ContentRoot();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = hostArgs.Where(a => a != ProxyCommandLine.Demo).ToArray(),
            ContentRootPath = contentRoot,
        });
        builder.Logging.ClearProviders();
        if (hostArgs.Contains(ProxyCommandLine.Demo))
        {
            DemoSilos.ApplyDefaults(builder.Configuration, hostArgs);
        }

        // A folder given on the command line is read from the current directory, as a shell user means it.
        var dir = folder is null ? HostingExtensions.ResolveConfigDir(builder.Configuration, contentRoot) : Path.GetFullPath(folder);
        builder.Configuration[IntegrationRoutingExtensions.ConfigDirKey] = dir;
        builder.Services.AddReverseProxy().AddIntegrationRouting(builder.Configuration);

        IReadOnlyList<ConfigProblem> problems;
        try
        {
            using var app = builder.Build();
            problems = app.Services.GetRequiredService<ProxyConfigCheck>().CheckFolder(dir);
        }
        catch (OptionsValidationException ex)
        {
            problems = ex.Failures.Select(f => new ConfigProblem(f)).ToArray();
        }

        foreach (var problem in problems)
        {
            error.WriteLine(problem.Text);
        }

        if (problems.Count > 0)
        {
            return 1;
        }

        output.WriteLine($"edge-proxy: the configuration in {dir} can go live");
        return 0;
    }
}
