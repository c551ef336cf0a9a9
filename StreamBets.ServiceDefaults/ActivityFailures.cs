using System.Diagnostics;

namespace Microsoft.Extensions.Hosting;

public static class ActivityFailures
{
    /// <summary>The span keeps the exception (type, message, stack trace) as an event, not just its message, and says it failed.</summary>
    public static void RecordFailure(this Activity? activity, Exception exception)
    {
        activity?.AddException(exception);
        activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
    }
}
