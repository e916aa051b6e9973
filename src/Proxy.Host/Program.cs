using Proxy.Billing;
using Proxy.Host;

IHost host;
try
{
    host = args.Contains("--billing-only") ? BillingOnly(args) : ProxyApplication.Build(args);
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
        Args = args.Where(a => a != "--billing-only").ToArray(),
        ContentRootPath = HostingExtensions.ContentRoot(),
    });
    billing.Configuration["Billing:Enabled"] = "true";
    billing.Services.AddBillingConsumer(billing.Configuration);
    billing.Services.AddProxyTelemetry(billing.Configuration, "edge-proxy-billing");
    return billing.Build();
}
