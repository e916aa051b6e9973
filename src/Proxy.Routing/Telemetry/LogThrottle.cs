namespace Proxy.Routing.Telemetry;

/// <summary>
/// Bounds a log line a sender can cause (a refused webhook, a rate-limited client): at most <c>perSecond</c> lines a
/// second; the lines left out are counted and reported with the next line let through. Metrics count every event.
/// </summary>
internal sealed class LogThrottle(TimeProvider time, int perSecond = 10)
{
    private readonly Lock _gate = new();
    private long _windowStart = long.MinValue;
    private int _inWindow;
    private long _suppressed;

    /// <summary>True when this line may be written; <paramref name="suppressed"/> is how many were left out before it.</summary>
    public bool TryEnter(out long suppressed)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart, now) >= TimeSpan.FromSeconds(1))
            {
                _windowStart = now;
                _inWindow = 0;
            }

            if (_inWindow < perSecond)
            {
                _inWindow++;
                suppressed = _suppressed;
                _suppressed = 0;
                return true;
            }

            _suppressed++;
            suppressed = 0;
            return false;
        }
    }
}
