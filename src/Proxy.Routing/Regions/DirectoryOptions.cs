using Proxy.Routing.Regions.Control;

namespace Proxy.Routing.Regions;

/// <summary>Where the directory comes from, section <c>Directory</c>.</summary>
public sealed class DirectoryOptions
{
    public const string Section = "Directory";
    public const string FileSource = "File";
    public const string ControlSource = "Control";

    /// <summary><c>File</c> (the config folder's <c>directory.json</c>, the default) or <c>Control</c> (the control silo's API).</summary>
    public string Source { get; set; } = FileSource;

    public ControlDirectoryOptions Control { get; set; } = new();

    public bool UsesControl => string.Equals(Source, ControlSource, StringComparison.OrdinalIgnoreCase);
}
