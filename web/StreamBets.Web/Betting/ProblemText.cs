using Microsoft.Extensions.Localization;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Betting;

/// <summary>Values a refusal's message may name: the pool's stake range for "stake-out-of-range".</summary>
public sealed record ProblemContext(long? MinStakeMinor = null, long? MaxStakeMinor = null);

/// <summary>
/// The player's message for a refusal, chosen by its stable problem code (resource key <c>Problem_{code}</c>), so every
/// rule reads the same in English and Portuguese. A code without its own message falls back to the service's detail.
/// </summary>
public static class ProblemText
{
    public const string KeyPrefix = "Problem_";

    public static string For(ApiProblem problem, IStringLocalizer localizer, ProblemContext? context = null)
    {
        if (problem.Code == "stake-out-of-range" && context is { MinStakeMinor: { } min, MaxStakeMinor: { } max })
        {
            return localizer[KeyPrefix + "stake-out-of-range-between", Money.Format(min), Money.Format(max)];
        }
        var text = localizer[KeyPrefix + problem.Code];
        return !text.ResourceNotFound ? text.Value
            : problem.Detail ?? problem.Title ?? localizer[KeyPrefix + "unknown"].Value;
    }
}
