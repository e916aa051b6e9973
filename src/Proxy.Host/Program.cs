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
    IHost consumer;
    try
    {
        consumer = billing.Build();
        await consumer.StartAsync();
    }
    catch (Exception ex)
    {
        return StartupFailure.Report(ex);
    }

    await consumer.WaitForShutdownAsync();
    return 0;
}

WebApplication app;
try
{
    app = ProxyApplication.Build(args);
    await app.StartAsync();
}
catch (Exception ex)
{
    return StartupFailure.Report(ex);
}

await using (app)
{
    await app.WaitForShutdownAsync();
}

return 0;
