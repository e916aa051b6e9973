using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Proxy.Routing.Configuration;

/// <summary>
/// A JSON configuration file that reloads on change but only ever exposes a version that parsed. The stock JSON
/// provider empties its data on a bad reload; this one keeps the last good data and reports the rejection.
/// </summary>
public sealed class LastGoodJsonConfigurationSource(string path, ConfigFileStatus status) : IConfigurationSource
{
    public string Path { get; } = path;

    public ConfigFileStatus Status { get; } = status;

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(this);

    private sealed class Provider(LastGoodJsonConfigurationSource source) : ConfigurationProvider, IDisposable
    {
        private WatchedFile? _watch;

        public override void Load()
        {
            // The first load must succeed: a proxy that starts on a broken routing file would route nothing.
            var data = Read() ?? throw new InvalidOperationException(
                $"{source.Path}: {source.Status.LastError}");
            Data = data;
            source.Status.Accepted(DateTimeOffset.UtcNow);
            _watch ??= new WatchedFile(source.Path, Reload);
        }

        private void Reload()
        {
            var data = Read();
            if (data is null)
            {
                return;
            }

            Data = data;
            source.Status.Accepted(DateTimeOffset.UtcNow);
            OnReload();
        }

        private Dictionary<string, string?>? Read()
        {
            try
            {
                var bytes = File.ReadAllBytes(source.Path);
                using var stream = new MemoryStream(bytes);
                var parsed = new ConfigurationBuilder().AddJsonStream(stream).Build();
                return parsed.AsEnumerable()
                    .Where(pair => pair.Value is not null)
                    .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.OrdinalIgnoreCase);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException
                or InvalidDataException or JsonException)
            {
                source.Status.Rejected(ex.InnerException?.Message ?? ex.Message);
                return null;
            }
        }

        public void Dispose() => _watch?.Dispose();
    }
}
