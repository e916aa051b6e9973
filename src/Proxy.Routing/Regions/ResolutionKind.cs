namespace Proxy.Routing.Regions;

public enum ResolutionKind
{
    Found,
    UnknownTarget,
    NoActiveOrganization,
}
