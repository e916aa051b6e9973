using Microsoft.Extensions.Options;

namespace Proxy.Routing.Regions;

internal sealed class DirectoryOptionsValidator : IValidateOptions<DirectoryOptions>
{
    private const string ControlSection = DirectoryOptions.Section + ":Control";

    public ValidateOptionsResult Validate(string? name, DirectoryOptions options)
    {
        var errors = new List<string>();
        if (!string.Equals(options.Source, DirectoryOptions.FileSource, StringComparison.OrdinalIgnoreCase) && !options.UsesControl)
        {
            errors.Add($"{DirectoryOptions.Section}:Source must be {DirectoryOptions.FileSource} or {DirectoryOptions.ControlSource} (was '{options.Source}').");
        }

        var control = options.Control ?? new();
        Template(errors, nameof(control.IntegrationPath), control.IntegrationPath, "{provider}", "{externalId}");
        Template(errors, nameof(control.IntegrationByIdPath), control.IntegrationByIdPath, "{integrationId}");
        Template(errors, nameof(control.OrganizationPath), control.OrganizationPath, "{organizationId}");
        Positive(errors, nameof(control.Timeout), control.Timeout);
        Positive(errors, nameof(control.CacheTtl), control.CacheTtl);
        Positive(errors, nameof(control.NegativeCacheTtl), control.NegativeCacheTtl);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Template(List<string> errors, string key, string? template, params string[] placeholders)
    {
        if (string.IsNullOrWhiteSpace(template) || !template.StartsWith('/'))
        {
            errors.Add($"{ControlSection}:{key} must be a path starting with '/' (was '{template}').");
            return;
        }

        foreach (var placeholder in placeholders)
        {
            if (!template.Contains(placeholder, StringComparison.Ordinal))
            {
                errors.Add($"{ControlSection}:{key} must contain {placeholder} (was '{template}').");
            }
        }
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{ControlSection}:{key} must be a positive duration (was {value}).");
        }
    }
}
