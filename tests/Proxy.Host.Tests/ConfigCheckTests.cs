namespace Proxy.Host.Tests;

/// <summary>
/// <c>check-config</c> over a good folder and over one folder per kind of mistake: exit 1 and the problem at its 1-based
/// line. The same validator guards the start and every reload (<see cref="ConfigReloadTests"/>).
/// </summary>
public class ConfigCheckTests
{
    public const string GoodRoutes = """
        {
          "ReverseProxy": {
            "Routes": {
              "webhooks": {
                "ClusterId": "control",
                "Match": { "Path": "/extensions/{**rest}" },
                "Metadata": { "IntegrationRouting": "true" }
              }
            },
            "Clusters": {
              "control": {
                "Destinations": {
                  "control-1": { "Address": "http://127.0.0.1:5101/" }
                }
              },
              "region-eu": {
                "Metadata": { "Region": "eu" },
                "HttpRequest": { "ActivityTimeout": "00:00:10" },
                "Destinations": {
                  "eu-1": { "Address": "http://127.0.0.1:5102/" }
                }
              },
              "region-us": {
                "Metadata": { "Region": "us" },
                "Destinations": {
                  "us-1": { "Address": "http://127.0.0.1:5103/" }
                }
              }
            }
          }
        }
        """;

    public const string GoodDirectory = """
        {
          "Organizations": [
            { "Id": 1, "Slug": "acme", "Region": "eu", "Status": "active" },
            { "Id": 2, "Slug": "globex", "Region": "us", "Status": "active" }
          ],
          "Integrations": [
            { "Id": 10, "Provider": "slack", "ExternalId": "T1", "Status": "active", "Organizations": [1, 2] }
          ]
        }
        """;

    /// <summary>A kind of mistake: an edit of one file, and where the problem must be reported.</summary>
    public static TheoryData<string, string, string, string, string, string> Mistakes => new()
    {
        // name, file edited, text replaced, replacement, marker of the reported line (in the edited text), message
        { "route naming a missing cluster", "proxy.json", "\"ClusterId\": \"control\"", "\"ClusterId\": \"nowhere\"", "\"nowhere\"",
            "route 'webhooks' names cluster 'nowhere', which is not among the clusters" },
        { "no control cluster", "proxy.json", "\"control\": {", "\"central\": {", "\"Clusters\"",
            "the control cluster 'control' (Routing:ControlCluster) is not among the clusters" },
        { "a path YARP rejects", "proxy.json", "/extensions/{**rest}", "/extensions/{**rest}/{**more}", "\"webhooks\"",
            "route 'webhooks': Invalid path '/extensions/{**rest}/{**more}' for route 'webhooks'." },
        { "a policy YARP does not have", "proxy.json", "\"Metadata\": { \"Region\": \"us\" },", "\"Metadata\": { \"Region\": \"us\" }, \"LoadBalancingPolicy\": \"Fastest\",", "\"region-us\"",
            "cluster 'region-us': " },
        { "a value YARP cannot read", "proxy.json", "\"ActivityTimeout\": \"00:00:10\"", "\"ActivityTimeout\": \"soon\"", "\"ReverseProxy\"",
            "YARP cannot read ReverseProxy:" },
        { "an unknown field of a route", "proxy.json", "\"Match\":", "\"Mtch\":", "\"Mtch\"", "route 'webhooks': unknown field 'Mtch'" },
        { "an unknown field of a destination", "proxy.json", "\"eu-1\": { \"Address\"", "\"eu-1\": { \"Adress\"", "\"Adress\"",
            "cluster 'region-eu' destination 'eu-1': unknown field 'Adress'" },
        { "an unknown field in a match", "proxy.json", "{ \"Path\": \"/extensions/{**rest}\" }", "{ \"Path\": \"/extensions/{**rest}\", \"Verbs\": [\"POST\"] }", "\"Verbs\"",
            "route 'webhooks': unknown field 'Match:Verbs'" },
        { "a route id written twice", "proxy.json", "\"Routes\": {", "\"Routes\": {\n      \"Webhooks\": { \"ClusterId\": \"control\" },", "\"webhooks\": {",
            "ReverseProxy:Routes:webhooks is written twice (first at line" },
        { "broken JSON", "proxy.json", "\"Metadata\": { \"IntegrationRouting\": \"true\" }", "\"Metadata\": { \"IntegrationRouting\": \"true\" } oops", "oops",
            "invalid JSON:" },
        { "a region no cluster serves", "directory.json", "\"Region\": \"us\"", "\"Region\": \"af\"", "\"Id\": 2,",
            "region 'af' of organization(s) 2 has no cluster in proxy.json" },
        { "an unknown status", "directory.json", "\"Region\": \"us\", \"Status\": \"active\"", "\"Region\": \"us\", \"Status\": \"archived\"", "\"Id\": 2,",
            "Organizations[1] (id 2): unknown Status 'archived'" },
        { "a duplicate organization id", "directory.json", "\"Id\": 2,", "\"Id\": 1,", "\"globex\"", "Organizations[1]: duplicate organization id 1" },
        { "a shed rule without a provider", "proxy.json", "\"ReverseProxy\": {", "\"Shed\": { \"Rules\": [ { \"ExternalId\": \"T1\" } ] },\n  \"ReverseProxy\": {",
            "\"ExternalId\": \"T1\"", "Shed:Rules:0:Provider is required" },
        { "a shed rule with an id that is not a number", "proxy.json", "\"ReverseProxy\": {",
            "\"Shed\": { \"Rules\": [ { \"Provider\": \"github\" }, { \"Provider\": \"slack\", \"IntegrationId\": \"ten\" } ] },\n  \"ReverseProxy\": {",
            "\"IntegrationId\": \"ten\"", "Shed:Rules:1:IntegrationId must be a number" },
        { "an unknown field of an organization", "directory.json", "\"Slug\": \"globex\"", "\"Slogan\": \"globex\"", "\"Slogan\"",
            "unknown property 'Slogan' in Organizations[1]" },
    };

    [Fact]
    public void A_good_folder_exits_0()
    {
        var (exit, output, errors) = Check(WriteFolder(GoodRoutes, GoodDirectory));

        exit.Should().Be(0, errors);
        errors.Should().BeEmpty();
        output.Should().Contain("can go live");
    }

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_kind_of_mistake_exits_1_naming_the_file_and_line(string mistake, string file, string text, string replacement,
        string marker, string message)
    {
        var routes = file == "proxy.json" ? Edit(GoodRoutes, text, replacement) : GoodRoutes;
        var directory = file == "directory.json" ? Edit(GoodDirectory, text, replacement) : GoodDirectory;

        var (exit, _, errors) = Check(WriteFolder(routes, directory));

        exit.Should().Be(1, mistake);
        var line = Line(file == "proxy.json" ? routes : directory, marker);
        errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Should().Contain(l => l.StartsWith($"{file} line {line}", StringComparison.Ordinal) && l.Contains(message, StringComparison.Ordinal),
                $"{mistake} must be reported at {file} line {line}; got:\n{errors}");
    }

    [Fact]
    public void A_provider_rules_file_with_a_bad_entry_exits_1_naming_the_entry()
    {
        var folder = WriteFolder(GoodRoutes, GoodDirectory);
        File.WriteAllText(Path.Combine(folder, "provider-rules.json"), """{"Providers":{"github":{"Events":{"push":"mailbx"}}}}""");

        var (exit, _, errors) = Check(folder);

        exit.Should().Be(1);
        errors.Should().Contain("provider-rules.json").And.Contain("Providers.github.Events.push: unknown action 'mailbx'");
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var folder = WriteFolder(GoodRoutes, GoodDirectory);
        File.Delete(Path.Combine(folder, "directory.json"));

        var (exit, _, errors) = Check(folder);

        exit.Should().Be(1);
        errors.Should().StartWith("directory.json: cannot be read");
    }

    public static string WriteFolder(string routes, string directory)
    {
        var folder = Directory.CreateTempSubdirectory("proxy-check-").FullName;
        File.WriteAllText(Path.Combine(folder, "proxy.json"), routes);
        File.WriteAllText(Path.Combine(folder, "directory.json"), directory);
        return folder;
    }

    /// <summary>The 1-based line of the first occurrence of <paramref name="marker"/>.</summary>
    public static int Line(string text, string marker)
    {
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        at.Should().BeGreaterThanOrEqualTo(0, $"the marker {marker} must be in the text");
        return text[..at].Count(c => c == '\n') + 1;
    }

    private static string Edit(string text, string old, string replacement)
    {
        text.Should().Contain(old);
        return text.Replace(old, replacement, StringComparison.Ordinal);
    }

    private static (int Exit, string Output, string Errors) Check(string folder)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exit = ConfigCheckCommand.Run([], folder, output, errors);
        return (exit, output.ToString(), errors.ToString());
    }
}
