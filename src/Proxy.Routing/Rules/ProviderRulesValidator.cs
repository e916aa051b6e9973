using System.Text.Json;

namespace Proxy.Routing.Rules;

/// <summary>
/// Reads and validates <c>provider-rules.json</c> and lays it over the reference's defaults. Self-contained (no host,
/// no DI) so that a config checker can call it: <see cref="Validate"/> lists every problem, each naming its entry
/// (<c>Providers.github.Events.push</c>); <see cref="Parse"/> throws a <see cref="FormatException"/> with all of them.
/// </summary>
public static class ProviderRulesValidator
{
    public const string FileName = "provider-rules.json";

    private const int MaxNameLength = 100;

    private static readonly JsonDocumentOptions s_options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 16 };

    /// <summary>Every problem of the file; empty when it is valid.</summary>
    public static IReadOnlyList<string> Validate(ReadOnlySpan<byte> utf8Json, string source = FileName)
    {
        var errors = new List<string>();
        Read(utf8Json, source, errors);
        return errors;
    }

    /// <summary>The rules the file gives (defaults for everything it leaves out).</summary>
    public static ProviderRules Parse(ReadOnlySpan<byte> utf8Json, string source = FileName)
    {
        var errors = new List<string>();
        var rules = Read(utf8Json, source, errors);
        return errors.Count == 0 ? rules! : throw new FormatException(string.Join("; ", errors));
    }

    private static ProviderRules? Read(ReadOnlySpan<byte> utf8Json, string source, List<string> errors)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), s_options);
        }
        catch (JsonException ex)
        {
            errors.Add($"{source}: not valid JSON ({ex.Message})");
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{source}: the file must be a JSON object with a Providers object");
                return null;
            }

            var sets = ProviderRules.DefaultSets().ToDictionary(s => s.Provider, StringComparer.OrdinalIgnoreCase);
            foreach (var property in root.EnumerateObject())
            {
                if (!property.NameEquals("Providers") && !string.Equals(property.Name, "Providers", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add($"{source}: unknown key '{property.Name}' (expected Providers)");
                    continue;
                }

                if (property.Value.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{source}: Providers must be an object keyed by provider");
                    continue;
                }

                foreach (var provider in property.Value.EnumerateObject())
                {
                    var where = $"Providers.{provider.Name}";
                    if (!IsName(provider.Name, allowDash: false) || provider.Name.Any(char.IsUpper))
                    {
                        errors.Add($"{where}: a provider key is lower case letters, digits and '_' (as in /extensions/{{provider}}/ with '-' as '_')");
                        continue;
                    }

                    if (ReadProvider(provider.Value, provider.Name, sets.GetValueOrDefault(provider.Name), where, errors) is { } set)
                    {
                        sets[provider.Name] = set;
                    }
                }
            }

            return errors.Count == 0 ? new ProviderRules(sets.Values) : null;
        }
    }

    private static ProviderRuleSet? ReadProvider(JsonElement element, string provider, ProviderRuleSet? defaults, string where, List<string> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where}: must be an object (DropStatus, Endpoints, OtherEndpoints, Events, OtherEvents)");
            return null;
        }

        var count = errors.Count;
        var dropStatus = defaults?.DropStatus ?? 202;
        var endpoints = defaults?.Endpoints.ToDictionary(StringComparer.OrdinalIgnoreCase) ?? new Dictionary<string, RuleAction>(StringComparer.OrdinalIgnoreCase);
        var otherEndpoints = defaults?.OtherEndpoints ?? RuleAction.Deliver;
        var events = defaults?.Events?.ToDictionary(StringComparer.Ordinal);
        var otherEvents = defaults?.OtherEvents ?? RuleAction.Deliver;
        foreach (var field in element.EnumerateObject())
        {
            var at = $"{where}.{field.Name}";
            switch (field.Name.ToLowerInvariant())
            {
                case "dropstatus":
                    if (field.Value.ValueKind == JsonValueKind.Number && field.Value.TryGetInt32(out var status) && status is 200 or 202)
                    {
                        dropStatus = status;
                    }
                    else
                    {
                        errors.Add($"{at}: must be 200 or 202 (a dropped webhook is acknowledged so that the sender does not retry it)");
                    }

                    break;
                case "endpoints":
                    ReadActions(field.Value, at, endpoints, allowDash: true, errors);
                    break;
                case "otherendpoints":
                    otherEndpoints = ReadAction(field.Value, at, errors) ?? otherEndpoints;
                    break;
                case "events" or "otherevents" when events is null:
                    errors.Add($"{at}: {provider} has no event rules; events are read for {string.Join(", ", EventProviders())}");
                    break;
                case "events":
                    ReadActions(field.Value, at, events!, allowDash: false, errors);
                    break;
                case "otherevents":
                    otherEvents = ReadAction(field.Value, at, errors) ?? otherEvents;
                    break;
                default:
                    errors.Add($"{at}: unknown key (expected DropStatus, Endpoints, OtherEndpoints, Events, OtherEvents)");
                    break;
            }
        }

        return errors.Count == count ? new ProviderRuleSet(provider, dropStatus, endpoints, otherEndpoints, events, otherEvents) : null;
    }

    private static IEnumerable<string> EventProviders()
        => ProviderRules.DefaultSets().Where(s => s.Events is not null).Select(s => s.Provider);

    private static void ReadActions(JsonElement element, string where, Dictionary<string, RuleAction> into, bool allowDash, List<string> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where}: must be an object of name -> \"control\" | \"drop\" | \"deliver\"");
            return;
        }

        foreach (var entry in element.EnumerateObject())
        {
            var at = $"{where}.{entry.Name}";
            if (!IsName(entry.Name, allowDash))
            {
                errors.Add($"{at}: a name is 1 to {MaxNameLength} of a-z, 0-9, '_'{(allowDash ? ", '-'" : ", '.'")}");
                continue;
            }

            if (ReadAction(entry.Value, at, errors) is { } action)
            {
                into[entry.Name] = action;
            }
        }
    }

    private static RuleAction? ReadAction(JsonElement element, string where, List<string> errors)
    {
        var text = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        switch (text?.ToLowerInvariant())
        {
            case "control":
                return RuleAction.Control;
            case "drop":
                return RuleAction.Drop;
            case "deliver":
                return RuleAction.Deliver;
            default:
                errors.Add($"{where}: unknown action {(text is null ? element.ValueKind.ToString() : $"'{text}'")} (expected control, drop or deliver)");
                return null;
        }
    }

    private static bool IsName(string name, bool allowDash)
        => name.Length is > 0 and <= MaxNameLength
            && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' || (allowDash ? c == '-' : c == '.'));
}
