using StackExchange.Redis;

namespace Proxy.Billing.Transport;

/// <summary>
/// The Lua script that commits a batch on Redis: for each input still pending in the group, it appends the
/// input's outputs to their streams and acknowledges it; an input no longer pending (another consumer committed
/// it, or this one did before a lost reply) is skipped with its outputs. Redis runs a script atomically, so a
/// crash leaves either the whole batch committed or none of it, and re-running a batch adds nothing twice.
/// </summary>
internal static class RedisCommitScript
{
    /// <summary>Positions of the keys; every key must hash to one Redis Cluster slot (hence the shared hash tag).</summary>
    public const int InputKey = 0;

    // KEYS: input stream, billing outcomes, outcomes, events, dead letters.
    // ARGV: group, input count, then per input: id, output count, then per output: key index (1-based),
    //       field-pair count, fields and values.
    // Returns one character per input: 1 committed now, 0 skipped.
    public const string Source = """
        local group = ARGV[1]
        local inputs = tonumber(ARGV[2])
        local at = 3
        local result = {}
        local acks = {}
        for n = 1, inputs do
          local id = ARGV[at]
          local outputs = tonumber(ARGV[at + 1])
          at = at + 2
          local live = #redis.call('XPENDING', KEYS[1], group, id, id, 1) > 0
          for o = 1, outputs do
            local key = KEYS[tonumber(ARGV[at])]
            local pairs = tonumber(ARGV[at + 1])
            if live then
              redis.call('XADD', key, '*', unpack(ARGV, at + 2, at + 1 + 2 * pairs))
            end
            at = at + 2 + 2 * pairs
          end
          if live then
            acks[#acks + 1] = id
            if #acks == 500 then
              redis.call('XACK', KEYS[1], group, unpack(acks))
              acks = {}
            end
          end
          result[n] = live and '1' or '0'
        end
        if #acks > 0 then
          redis.call('XACK', KEYS[1], group, unpack(acks))
        end
        return table.concat(result)
        """;

    public static int KeyIndex(Destination destination) => destination switch
    {
        Destination.BillingOutcomes => 2,
        Destination.Outcomes => 3,
        Destination.Events => 4,
        _ => 5,
    };

    /// <summary>The script's arguments. <paramref name="outputs"/> must be ordered by input index.</summary>
    public static RedisValue[] Arguments(string group, IReadOnlyList<InputMessage> inputs, IReadOnlyList<OutboundMessage> outputs)
    {
        var values = new List<RedisValue>(2 + inputs.Count * 2 + outputs.Count * 8) { group, inputs.Count };
        var next = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var first = next;
            while (next < outputs.Count && outputs[next].InputIndex == i)
            {
                next++;
            }

            values.Add(inputs[i].Id);
            values.Add(next - first);
            for (var o = first; o < next; o++)
            {
                AddOutput(values, inputs[i], outputs[o]);
            }
        }

        if (next != outputs.Count)
        {
            throw new ArgumentException("outputs must be ordered by input index and refer to the inputs", nameof(outputs));
        }

        return [.. values];
    }

    private static void AddOutput(List<RedisValue> values, InputMessage input, OutboundMessage output)
    {
        values.Add(KeyIndex(output.Destination));
        switch (output.Destination)
        {
            case Destination.Events:
                values.Add(2);
                values.Add(StreamFields.Type);
                values.Add(Messages.FirstCustomMetricReceived.EventType);
                values.Add(StreamFields.Payload);
                values.Add(output.Payload);
                break;
            case Destination.DeadLetters:
                values.Add(3);
                values.Add(StreamFields.Payload);
                values.Add(output.Payload);
                values.Add(StreamFields.Error);
                values.Add(output.Error ?? "");
                values.Add(StreamFields.InputId);
                values.Add(input.Id);
                break;
            default:
                values.Add(1);
                values.Add(StreamFields.Payload);
                values.Add(output.Payload);
                break;
        }
    }
}

/// <summary>Field names of the stream entries the consumer reads and writes.</summary>
public static class StreamFields
{
    /// <summary>The message itself (bucket, outcome or event JSON; the rejected bytes of a dead letter).</summary>
    public const string Payload = "payload";

    /// <summary>Events: the event name.</summary>
    public const string Type = "type";

    /// <summary>Dead letters: <c>error_type: detail</c>.</summary>
    public const string Error = "error";

    /// <summary>Dead letters: the id of the rejected entry in the input stream.</summary>
    public const string InputId = "input_id";
}
