using System.Globalization;
using Microsoft.Extensions.Options;
using Proxy.Billing.Transport;
using StackExchange.Redis;

namespace Proxy.Billing.Flags;

/// <summary>
/// The default store: one Redis string per project, <c>{ProjectFlagsKeyPrefix}{project_id}</c>, holding the flags
/// as a decimal 64-bit integer. A missing key means the project does not exist.
/// </summary>
internal sealed class RedisProjectFlagsStore(BillingRedisConnection redis, IOptions<BillingOptions> options) : IProjectFlagsStore
{
    public async ValueTask<ProjectFlags?> GetFlagsAsync(long projectId, CancellationToken cancellationToken)
    {
        var db = await redis.GetDatabaseAsync(cancellationToken);
        return Parse(projectId, await db.StringGetAsync(Key(projectId)));
    }

    public async ValueTask<ProjectFlags?> AddFlagsAsync(long projectId, ProjectFlags flags, CancellationToken cancellationToken)
    {
        var db = await redis.GetDatabaseAsync(cancellationToken);
        var key = Key(projectId);
        while (true)
        {
            // Optimistic bit-or: the write only happens if nobody changed the value since it was read.
            cancellationToken.ThrowIfCancellationRequested();
            var current = await db.StringGetAsync(key);
            if (Parse(projectId, current) is not { } before)
            {
                return null;
            }

            var after = before | flags;
            if (after == before)
            {
                return after;
            }

            var transaction = db.CreateTransaction();
            transaction.AddCondition(Condition.StringEqual(key, current));
            _ = transaction.StringSetAsync(key, ((ulong)after).ToString(CultureInfo.InvariantCulture));
            if (await transaction.ExecuteAsync())
            {
                return after;
            }
        }
    }

    private RedisKey Key(long projectId) => options.Value.Flags.ProjectFlagsKeyPrefix + projectId.ToString(CultureInfo.InvariantCulture);

    private static ProjectFlags? Parse(long projectId, RedisValue value)
    {
        if (value.IsNull)
        {
            return null;
        }

        return ulong.TryParse((string?)value, NumberStyles.None, CultureInfo.InvariantCulture, out var flags)
            ? (ProjectFlags)flags
            : throw new InvalidDataException($"the flags of project {projectId} are not a 64-bit unsigned integer: '{value}'");
    }
}
