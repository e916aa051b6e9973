using Proxy.Routing.Regions;
using Proxy.Routing.Regions.Caching;

namespace Proxy.Routing.Tests.Regions;

public sealed class DirectoryOptionsValidatorTests
{
    [Fact]
    public void The_defaults_are_valid()
    {
        new DirectoryOptionsValidator().Validate(null, new DirectoryOptions()).Succeeded.Should().BeTrue();
        new RedisOptionsValidator().Validate(null, new RedisOptions()).Succeeded.Should().BeTrue();
    }

    [Theory]
    [InlineData("file", true)]
    [InlineData("Control", true)]
    [InlineData("Database", false)]
    [InlineData("", false)]
    public void The_source_is_File_or_Control(string source, bool valid)
    {
        var result = new DirectoryOptionsValidator().Validate(null, new DirectoryOptions { Source = source });

        result.Succeeded.Should().Be(valid);
        if (!valid)
        {
            result.FailureMessage.Should().Contain($"Directory:Source must be File or Control (was '{source}').");
        }
    }

    [Fact]
    public void Bad_control_settings_are_named_by_their_key()
    {
        var options = new DirectoryOptions { Source = "Control" };
        options.Control.Timeout = TimeSpan.Zero;
        options.Control.NegativeCacheTtl = TimeSpan.FromSeconds(-1);
        options.Control.IntegrationPath = "/api/integrations/{provider}";
        options.Control.OrganizationPath = "organizations/{organizationId}";

        var message = new DirectoryOptionsValidator().Validate(null, options).FailureMessage;

        message.Should().Contain("Directory:Control:Timeout must be a positive duration (was 00:00:00).");
        message.Should().Contain("Directory:Control:NegativeCacheTtl must be a positive duration (was -00:00:01).");
        message.Should().Contain("Directory:Control:IntegrationPath must contain {externalId}");
        message.Should().Contain("Directory:Control:OrganizationPath must be a path starting with '/'");
    }

    [Fact]
    public void Bad_Redis_settings_are_named_by_their_key()
    {
        var options = new RedisOptions { OperationTimeout = TimeSpan.Zero, RetryAfter = TimeSpan.FromDays(1), ConnectionString = "127.0.0.1:6379,connectTimeout=soon" };

        var message = new RedisOptionsValidator().Validate(null, options).FailureMessage;

        message.Should().Contain("Redis:OperationTimeout must be a positive duration");
        message.Should().Contain("Redis:RetryAfter must be a positive duration of at most 01:00:00 (was 1.00:00:00).");
        message.Should().Contain("Redis:ConnectionString is not a StackExchange.Redis connection string");
    }
}
