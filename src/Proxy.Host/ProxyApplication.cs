namespace Proxy.Host;

/// <summary>Builds the edge proxy web application; tests build it the same way on 127.0.0.1:0.</summary>
public static class ProxyApplication
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddProxySettings(args);
        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok"));
        return app;
    }
}
