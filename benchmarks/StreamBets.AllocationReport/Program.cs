using System.Globalization;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Where a process allocates, from the runtime's AllocationTick events (one per ~100 kB allocated, with the type and the
// call stack of the allocation that crossed the mark), in a trace taken with:
//   dotnet-trace collect -p <pid> --profile gc-verbose --duration 00:00:06 -o service.nettrace
// Usage: dotnet run -c Release --project benchmarks/StreamBets.AllocationReport -- service.nettrace [frames]
// Prints the share of the sampled bytes by type and, with frames > 0, by type and its innermost named frames.
if (args.Length is < 1 or > 2 || (args.Length == 2 && !int.TryParse(args[1], out _)))
{
    Console.Error.WriteLine("Usage: StreamBets.AllocationReport <trace.nettrace> [frames]");
    return 2;
}
if (!File.Exists(args[0]))
{
    Console.Error.WriteLine($"No trace at {args[0]}: take one with dotnet-trace (see the top of this file).");
    return 2;
}
var frames = args.Length == 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0;

using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var byType = new Dictionary<string, long>();
var byStack = new Dictionary<string, long>();
long total = 0;
foreach (var traceEvent in log.Events) // TraceEvents enumerates only through IEnumerable<TraceEvent>, so no OfType
{
    if (traceEvent is not GCAllocationTickTraceData tick)
    {
        continue;
    }
    var bytes = tick.AllocationAmount64;
    total += bytes;
    byType[tick.TypeName] = byType.GetValueOrDefault(tick.TypeName) + bytes;
    if (frames > 0)
    {
        var names = new List<string>(frames);
        for (var frame = tick.CallStack(); frame is not null && names.Count < frames; frame = frame.Caller)
        {
            if (frame.CodeAddress.FullMethodName is { Length: > 0 } name)
            {
                names.Add(name);
            }
        }
        var key = $"{tick.TypeName} <- {string.Join(" <- ", names)}";
        byStack[key] = byStack.GetValueOrDefault(key) + bytes;
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{total / 1e6:F1} MB sampled"));
Print(byType, 40);
if (frames > 0)
{
    Console.WriteLine();
    Print(byStack, 60);
}
return 0;

void Print(Dictionary<string, long> shares, int count)
{
    foreach (var (name, bytes) in shares.OrderByDescending(s => s.Value).Take(count))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{100.0 * bytes / total,5:F1} %  {name}"));
    }
}
