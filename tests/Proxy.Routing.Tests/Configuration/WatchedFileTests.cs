using Microsoft.Extensions.Time.Testing;
using Proxy.Routing.Configuration;

namespace Proxy.Routing.Tests.Configuration;

/// <summary>
/// The watcher behind every hot-reloaded file, on the watcher's own clock: a save is reported on the second poll after
/// it (0.4 s with the 200 ms interval), which is what keeps the reload latency under a second.
/// </summary>
public sealed class WatchedFileTests : IDisposable
{
    private readonly string _path = Path.Combine(Directory.CreateTempSubdirectory("watched-file-").FullName, "proxy.json");
    private readonly FakeTimeProvider _time = new();
    private int _calls;

    [Fact]
    public void A_save_is_reported_once_on_the_second_poll_after_it()
    {
        File.WriteAllText(_path, "{}");
        using var watch = new WatchedFile(_path, () => Interlocked.Increment(ref _calls), _time);

        _time.Advance(WatchedFile.PollInterval);
        _calls.Should().Be(0, "nothing changed yet");

        File.WriteAllText(_path, """{"A":"1"}""");
        _time.Advance(WatchedFile.PollInterval);
        _calls.Should().Be(0, "the first poll that sees the change waits for the file to settle");
        _time.Advance(WatchedFile.PollInterval);
        _calls.Should().Be(1);

        _time.Advance(WatchedFile.PollInterval * 5);
        _calls.Should().Be(1, "a settled file is reported once");
        WatchedFile.PollInterval.Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(400),
            "two polls must fit in the documented reload latency of one second with room for the reload itself");
    }

    [Fact]
    public void A_file_written_in_steps_is_reported_after_the_last_step()
    {
        File.WriteAllText(_path, "{}");
        using var watch = new WatchedFile(_path, () => Interlocked.Increment(ref _calls), _time);

        foreach (var step in new[] { "{", """{"A":""", """{"A":"1"}""" })
        {
            File.WriteAllText(_path, step + new string(' ', 10 + step.Length));
            _time.Advance(WatchedFile.PollInterval);
            _calls.Should().Be(0, "the file is still being written");
        }

        _time.Advance(WatchedFile.PollInterval);
        _calls.Should().Be(1);
    }

    [Fact]
    public void Deleting_the_file_and_restoring_it_are_both_reported()
    {
        File.WriteAllText(_path, "{}");
        using var watch = new WatchedFile(_path, () => Interlocked.Increment(ref _calls), _time);

        File.Delete(_path);
        _time.Advance(WatchedFile.PollInterval);
        _time.Advance(WatchedFile.PollInterval);
        _calls.Should().Be(1, "a deleted file is reported so its reader can reject it");

        File.WriteAllText(_path, """{"A":"2"}""");
        _time.Advance(WatchedFile.PollInterval);
        _time.Advance(WatchedFile.PollInterval);
        _calls.Should().Be(2);
    }

    [Fact]
    public void A_disposed_watcher_reports_nothing()
    {
        File.WriteAllText(_path, "{}");
        var watch = new WatchedFile(_path, () => Interlocked.Increment(ref _calls), _time);
        watch.Dispose();

        File.WriteAllText(_path, """{"A":"3"}""");
        _time.Advance(WatchedFile.PollInterval * 3);

        _calls.Should().Be(0);
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_path)!, recursive: true);
}
