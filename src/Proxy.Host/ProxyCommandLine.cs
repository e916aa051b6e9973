using System.CommandLine;
using System.CommandLine.Help;

namespace Proxy.Host;

/// <summary>
/// The command line: verbs and flags through System.CommandLine, plus ASP.NET's configuration switches
/// (<c>--Key=value</c>, <c>--Key value</c>, <c>/Key=value</c>, <c>Key=value</c>), which are passed on to the host when
/// the key's first part is a known settings section (<see cref="SettingRoots"/> or a top-level key of appsettings.json).
/// Anything else is refused with one line and exit code 1, so a mistyped flag never starts a proxy that ignores it.
/// </summary>
internal static class ProxyCommandLine
{
    public const string Demo = "--demo";
    public const string BillingOnly = "--billing-only";
    public const string CheckConfigVerb = "check-config";

    /// <summary>First key parts accepted as settings besides the top-level keys of appsettings.json.</summary>
    private static readonly string[] SettingRoots =
    [
        "urls", "http_ports", "https_ports", "environment", "contentRoot", "applicationName", "hostingStartupAssemblies",
        "hostingStartupExcludeAssemblies", "preventHostingStartup", "Kestrel", "Logging", "AllowedHosts", "ReverseProxy",
        "ConfigDir", "Admin", "Mailbox", "Redis", "Directory", "Routing", "Limits", "RateLimits", "Providers", "Billing",
        "Signing", "Dedup", "Shed", "Demo", "HostOptions", "OTEL_",
    ];

    /// <summary>Flags of the parser that also look like a setting (<c>--demo</c> vs the <c>Demo</c> section).</summary>
    private static readonly HashSet<string> s_flags = new([Demo, BillingOnly, "--check-config", "--help", "--version"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The main settings, for <c>--help</c>.</summary>
    private static readonly (string Key, string Meaning)[] MainSettings =
    [
        ("--Urls=http://0.0.0.0:8080", "public listener(s), ';' separated (env ASPNETCORE_URLS)"),
        ("--ConfigDir=config", "folder of proxy.json (routes, clusters) and directory.json, hot reloaded"),
        ("--Admin:ApiKey=...", "key of the admin endpoints (header X-Admin-Key); unset: admin endpoints answer 404"),
        ("--Admin:Urls=http://127.0.0.1:9091", "admin endpoints on a listener of their own"),
        ("--Directory:Source=File|Control", "where the integration directory comes from"),
        ("--Redis:ConnectionString=host:6379", "shared cache, mailbox and delivery ids; empty: memory and SQLite"),
        ("--Mailbox:DataDir=data", "folder of the SQLite mailbox"),
        ("--Billing:Enabled=true", "run the billing consumer"),
        ("--Routing:ControlCluster=control", "cluster id of the control silo"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT (env)", "export traces and metrics over OTLP; unset: nothing is exported"),
    ];

    /// <summary>What to do: run (or check) with <paramref name="HostArgs"/>, or exit at once with <paramref name="ExitCode"/>.</summary>
    public sealed record Invocation(int? ExitCode, bool CheckConfig, string? ConfigFolder, string[] HostArgs);

    public static Invocation Parse(string[] args, string contentRoot, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var (settings, tokens) = SplitSettings(args, KnownRoots(contentRoot));

        var demo = new Option<bool>(Demo) { Description = "run with a demo control silo and two region silos on loopback, config/demo" };
        var billingOnly = new Option<bool>(BillingOnly) { Description = "run the billing consumer alone (no proxy, no listener)" };
        var checkOption = new Option<string?>("--check-config")
        {
            Description = "same as the check-config verb",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "dir",
        };
        var folder = new Argument<string?>("dir") { Description = "the config folder (default: ConfigDir)", Arity = ArgumentArity.ZeroOrOne };
        var check = new Command(CheckConfigVerb,
            "check proxy.json and directory.json and exit: 0 when they can go live, else 1 with one line per problem (like nginx -t)")
        {
            folder,
        };
        // Program.cs answers the healthcheck verb before this parser runs (the container probe stays cheap); listed for --help.
        var health = new Command(HealthProbe.Verb,
            "GET /readyz of the proxy on this machine (the port of --urls, ASPNETCORE_URLS or ASPNETCORE_HTTP_PORTS) and exit 0 on 200, else 1")
        {
            new Argument<string?>("url") { Description = "ask this URL instead", Arity = ArgumentArity.ZeroOrOne },
        };
        // A command of our own name rather than RootCommand, whose usage line names the dll (Proxy.Host).
        var root = new Command("edge-proxy", "one public address for every third-party webhook, routed to the control silo or the regions.")
        {
            demo, billingOnly, checkOption, check, health, new HelpOption(), new VersionOption(),
        };
        check.SetAction(_ => 0);
        root.SetAction(_ => 0);

        var result = root.Parse(tokens);
        if (result.Errors.Count > 0)
        {
            error.WriteLine($"edge-proxy: {string.Join(" ", result.Errors.Select(e => e.Message))} (see --help)");
            return new Invocation(1, false, null, []);
        }

        if (result.Action is HelpAction)
        {
            result.Invoke(new InvocationConfiguration { Output = output, Error = error });
            output.WriteLine("Main settings (any key of appsettings.json; also as environment variables, ':' written '__'):");
            foreach (var (key, meaning) in MainSettings)
            {
                output.WriteLine($"  {key,-40} {meaning}");
            }

            return new Invocation(0, false, null, []);
        }

        if (result.Action is not null && result.Action == root.Options.OfType<VersionOption>().Single().Action)
        {
            return new Invocation(result.Invoke(new InvocationConfiguration { Output = output, Error = error }), false, null, []);
        }

        var hostArgs = settings.ToList();
        if (result.GetValue(demo))
        {
            hostArgs.Add(Demo);
        }

        if (result.GetValue(billingOnly))
        {
            hostArgs.Add(BillingOnly);
        }

        var checking = result.CommandResult.Command == check || result.GetResult(checkOption) is not null;
        var checkFolder = result.CommandResult.Command == check ? result.GetValue(folder) : result.GetValue(checkOption);
        return new Invocation(null, checking, checkFolder, [.. hostArgs]);
    }

    /// <summary>The configuration switches among <paramref name="args"/>, and the tokens left for the parser.</summary>
    internal static (List<string> Settings, List<string> Tokens) SplitSettings(IReadOnlyList<string> args, IReadOnlySet<string> roots)
    {
        List<string> settings = [], tokens = [];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var name = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : arg.StartsWith('/') ? arg[1..] : arg;
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            var key = equals >= 0 ? name[..equals] : name;
            var prefixed = name.Length != arg.Length;
            if (!IsSetting(key, roots) || (!prefixed && equals < 0) || (equals < 0 && s_flags.Contains(arg)))
            {
                tokens.Add(arg);
            }
            else if (equals >= 0)
            {
                settings.Add(arg);
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                // "--Key value": the value is the next argument, as ASP.NET's command-line provider reads it.
                settings.Add(arg);
                settings.Add(args[++i]);
            }
            else
            {
                tokens.Add(arg);
            }
        }

        return (settings, tokens);
    }

    private static bool IsSetting(string key, IReadOnlySet<string> roots)
    {
        var root = key.Split([":", "__"], 2, StringSplitOptions.None)[0];
        return root.Length > 0 && (roots.Contains(root) || root.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)
            || root.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || root.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary><see cref="SettingRoots"/> and the top-level keys of appsettings.json (so a new section is a setting at once).</summary>
    internal static IReadOnlySet<string> KnownRoots(string contentRoot)
    {
        var roots = new HashSet<string>(SettingRoots, StringComparer.OrdinalIgnoreCase);
        try
        {
            var settings = new ConfigurationBuilder().AddJsonFile(Path.Combine(contentRoot, "appsettings.json"), optional: true).Build();
            roots.UnionWith(settings.GetChildren().Select(c => c.Key));
        }
        catch (Exception ex) when (ex is FormatException or IOException or InvalidDataException)
        {
            // A broken appsettings.json is reported by the start itself, naming the file.
        }

        return roots;
    }
}
