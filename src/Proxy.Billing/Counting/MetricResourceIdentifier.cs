namespace Proxy.Billing.Counting;

/// <summary>
/// An MRI, <c>&lt;entity&gt;:&lt;namespace&gt;/&lt;name&gt;@&lt;unit&gt;</c>, parsed with the reference regex's exact
/// semantics: entity up to the first ':', namespace up to the next '/', name up to the next '@', and a
/// non-empty unit without line breaks (one trailing line break is tolerated, as Python's <c>$</c> does).
/// </summary>
internal readonly record struct MetricResourceIdentifier(string Entity, string Namespace, string Name, string Unit)
{
    /// <summary>Only the <c>custom</c> namespace counts as a custom metric (not custom measurements).</summary>
    public bool IsCustom => Namespace == "custom";

    public static bool TryParse(string? text, out MetricResourceIdentifier mri)
    {
        mri = default;
        if (text is null)
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 1)
        {
            return false;
        }

        var slash = text.IndexOf('/', colon + 1);
        if (slash < colon + 2)
        {
            return false;
        }

        var at = text.IndexOf('@', slash + 1);
        if (at < slash + 2)
        {
            return false;
        }

        var unit = text.AsSpan(at + 1);
        if (unit.EndsWith("\n", StringComparison.Ordinal))
        {
            unit = unit[..^1];
        }

        if (unit.IsEmpty || unit.Contains('\n'))
        {
            return false;
        }

        mri = new MetricResourceIdentifier(text[..colon], text[(colon + 1)..slash], text[(slash + 1)..at], unit.ToString());
        return true;
    }

    public override string ToString() => $"{Entity}:{Namespace}/{Name}@{Unit}";
}
