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
        if (!TrySplit(text, out var colon, out var slash, out var at, out var unitLength))
        {
            mri = default;
            return false;
        }

        mri = new MetricResourceIdentifier(text![..colon], text[(colon + 1)..slash], text[(slash + 1)..at], text.Substring(at + 1, unitLength));
        return true;
    }

    /// <summary>Whether the text is a valid MRI in the <c>custom</c> namespace; allocates nothing.</summary>
    public static bool IsCustomMetric(string? text) =>
        TrySplit(text, out var colon, out var slash, out _, out _) && text.AsSpan(colon + 1, slash - colon - 1).SequenceEqual("custom");

    private static bool TrySplit(string? text, out int colon, out int slash, out int at, out int unitLength)
    {
        slash = at = unitLength = 0;
        colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (text is null || colon < 1)
        {
            return false;
        }

        slash = text.IndexOf('/', colon + 1);
        if (slash < colon + 2)
        {
            return false;
        }

        at = text.IndexOf('@', slash + 1);
        if (at < slash + 2)
        {
            return false;
        }

        var unit = text.AsSpan(at + 1);
        if (unit.EndsWith("\n", StringComparison.Ordinal))
        {
            unit = unit[..^1];
        }

        unitLength = unit.Length;
        return !unit.IsEmpty && !unit.Contains('\n');
    }

    public override string ToString() => $"{Entity}:{Namespace}/{Name}@{Unit}";
}
