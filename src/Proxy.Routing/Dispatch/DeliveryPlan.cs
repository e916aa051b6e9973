namespace Proxy.Routing.Dispatch;

/// <summary>
/// How a webhook whose target was resolved is delivered: the mode (a <c>RoutingModes</c> name), the regions it goes
/// to, and for an answer at the edge its status and problem. Dispatch carries it out; the dry run reports it.
/// </summary>
/// <param name="Skipped">Regions of the target that no cluster serves (mailbox mode skips them).</param>
internal sealed record DeliveryPlan(string Mode, IReadOnlyList<string> Regions, IReadOnlyList<string> Skipped)
{
    public int? Status { get; init; }

    public string? ProblemType { get; init; }

    public string? Detail { get; init; }

    /// <summary>Deferred mode: where the region's answer is posted.</summary>
    public string? ResponseUrl { get; init; }

    /// <summary>
    /// Set when the directory's answer breaks a rule of the provider (a one-region integration in several regions): the
    /// <c>error.type</c> counted, and control answers.
    /// </summary>
    public string? ConfigError { get; init; }
}
