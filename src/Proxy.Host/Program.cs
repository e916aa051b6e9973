using Proxy.Billing;
using Proxy.Host;

if (args is [HealthProbe.Verb, ..])
{
    return await HealthProbe.RunAsync(args[1..]);
}

var command = ProxyCommandLine.Parse(args, HostingExtensions.ContentRoot(), Console.Out, Console.Error);
if (command.ExitCode is { } exitCode)
{
    return exitCode;
}

if (command.CheckConfig)
{
    return ConfigCheckCommand.Run(command.HostArgs, command.ConfigFolder, Console.Out, Console.Error);
}

args = command.HostArgs;
IHost host;
try
{
    host = args.Contains(ProxyCommandLine.BillingOnly) ? BillingOnly(args) : ProxyApplication.Build(args);
    await host.StartAsync();
}
catch (Exception ex)
{
    return StartupFailure.Report(ex);
}

using (host)
{
    await host.WaitForShutdownAsync();
}

return 0;

// The billing consumer alone: no Kestrel, no proxy.
static IHost BillingOnly(string[] args)
{
    var billing = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = args.Where(a => a != ProxyCommandLine.BillingOnly).ToArray(),
        ContentRootPath = HostingExtensions.ContentRoot(),
    });
    billing.Configuration["Billing:Enabled"] = "true";
    billing.Services.AddBillingConsumer(billing.Configuration);
    billing.Services.AddProxyTelemetry(billing.Configuration, "edge-proxy-billing");
    return billing.Build();
}
