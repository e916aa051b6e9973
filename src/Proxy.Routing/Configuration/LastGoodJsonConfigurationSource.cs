using Microsoft.Extensions.Configuration;

namespace Proxy.Routing.Configuration;

/// <summary>
/// A JSON configuration file that reloads on change but only ever exposes a version that parsed and passed the
/// status's checks. The stock JSON provider empties its data on a bad reload; this one keeps the last good data and
/// reports the rejection (each problem with its 1-based line).
/// </summary>
public sealed class LastGoodJsonConfigurationSource(string path, ConfigFileStatus status) : IConfigurationSource
{
    public string Path { get; } = path;

    public ConfigFileStatus Status { get; } = status;

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(this);

    private sealed class Provider : ConfigurationProvider, IDisposable
    {
        private readonly LastGoodJsonConfigurationSource _source;
        private readonly Lock _gate = new();
        private WatchedFile? _watch;
        private IDictionary<string, string?>? _lastGood;

        public Provider(LastGoodJsonConfigurationSource source)
        {
            _source = source;
            source.Status.Reverting += Revert;
        }

        public override void Load()
        {
            // The first load must succeed: a proxy that starts on a broken routing file would route nothing.
            var data = Read() ?? throw new InvalidOperationException(
                $"{_source.Path}: {_source.Status.LastError}");
            Data = data;
            _lastGood = data;
            _source.Status.Passed(DateTimeOffset.UtcNow);
            _watch ??= new WatchedFile(_source.Path, Reload);
        }

        private void Reload()
        {
            var data = Read();
            if (data is null)
            {
                return;
            }

            lock (_gate)
            {
                _lastGood = Data;
                Data = data;
            }

            _source.Status.Passed(DateTimeOffset.UtcNow);
            OnReload();
        }

        /// <summary>YARP refused what passed the checks: configuration goes back to the version it still runs.</summary>
        private void Revert()
        {
            lock (_gate)
            {
                if (_lastGood is null)
                {
                    return;
                }

                Data = _lastGood;
            }

            OnReload();
        }

        private Dictionary<string, string?>? Read()
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(_source.Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _source.Status.Rejected(ex.Message);
                return null;
            }

            var name = System.IO.Path.GetFileName(_source.Path);
            var (document, problems) = ConfigFileDocument.Read(bytes, name);
            if (document is not null && _source.Status.Checks is { } checks)
            {
                problems = checks(document);
            }

            if (problems.Count > 0)
            {
                _source.Status.Rejected(string.Join("; ", problems));
                return null;
            }

            return new Dictionary<string, string?>(document!.Data, StringComparer.OrdinalIgnoreCase);
        }

        public void Dispose() => _watch?.Dispose();
    }
}
