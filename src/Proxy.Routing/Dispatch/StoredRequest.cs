namespace Proxy.Routing.Dispatch;

/// <summary>
/// A webhook as it will be sent to a region, after the route's transforms and the forwarding headers: what the mailbox
/// stores, so that a later delivery carries exactly what a synchronous forward would have.
/// </summary>
/// <param name="PathAndQuery">The path and query after the route's transforms, relative to the destination's address.</param>
/// <param name="Headers">Request and content headers, in order, one pair per value.</param>
public sealed record StoredRequest(string Method, string PathAndQuery, IReadOnlyList<KeyValuePair<string, string>> Headers);
