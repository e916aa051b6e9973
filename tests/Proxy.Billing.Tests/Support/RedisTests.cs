using Proxy.Testing;

namespace Proxy.Billing.Tests.Support;

/// <summary>One real redis-server for every test class that needs Redis; the classes run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class RedisTests : ICollectionFixture<RedisServer>
{
    public const string Name = "redis";
}
