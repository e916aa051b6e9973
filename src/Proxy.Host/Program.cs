using Proxy.Billing;
using Proxy.Host;

if (args.Contains("--billing-only"))
{
    // The billing consumer alone: no Kestrel, no proxy.
    var billing = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = args.Where(a => a != "--billing-only").ToArray(),
        ContentRootPath = HostingExtensions.ContentRoot(),
    });
    billing.Configuration["Billing:Enabled"] = "true";
    billing.Services.AddBillingConsumer(billing.Configuration);
    billing.Services.AddProxyTelemetry(billing.Configuration, "edge-proxy-billing");
    await billing.Build().RunAsync();
    return;
}

await using var app = ProxyApplication.Build(args);
await app.RunAsync();
