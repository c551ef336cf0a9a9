using System.Text.Json;
using Microsoft.Extensions.Localization;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Betting;

/// <summary>
/// Values a refusal's message may name: the pool's stake range for "stake-out-of-range"; the change sent with no answer
/// (a bet, a deposit) for "dependency-unavailable", as the player would name it.
/// </summary>
public sealed record ProblemContext(long? MinStakeMinor = null, long? MaxStakeMinor = null, string? UnansweredChange = null);

/// <summary>
/// The player's message for a refusal, chosen by its stable problem code (resource key <c>Problem_{code}</c>), so every
/// rule reads the same in English and Portuguese. A code without its own message falls back to the service's detail.
/// </summary>
public static class ProblemText
{
    public const string KeyPrefix = "Problem_";
    public const string FieldKeyPrefix = "Field_";

    // Refusals that carry an amount (minor units) the player can act on: their message names it (key "{code}-amount").
    private static readonly Dictionary<string, string> AmountExtensions = new()
    {
        ["deposit-limit-exceeded"] = "depositAllowanceMinor",
        ["deposit-out-of-range"] = "maxAmountMinor",
    };

    public static string For(ApiProblem problem, IStringLocalizer localizer, ProblemContext? context = null)
    {
        if (problem.Code == "stake-out-of-range" && context is { MinStakeMinor: { } min, MaxStakeMinor: { } max })
        {
            return localizer[KeyPrefix + "stake-out-of-range-between", Money.Format(min), Money.Format(max)];
        }
        if (problem.Code == ApiProblem.Unavailable && context?.UnansweredChange is { } change)
        {
            // Only a change sent under an idempotency key (a bet, a deposit) counts once when sent again; the generic text
            // promises nothing, since KYC, limits, sign-up and a streamer's pool changes carry no key.
            return localizer[KeyPrefix + "dependency-unavailable-change", change];
        }
        if (AmountExtensions.TryGetValue(problem.Code, out var name) && problem.Extensions.TryGetValue(name, out var value)
            && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var amount))
        {
            return localizer[KeyPrefix + problem.Code + "-amount", Money.Format(amount)];
        }
        var text = localizer[KeyPrefix + problem.Code];
        return !text.ResourceNotFound ? text.Value
            : problem.Detail ?? problem.Title ?? localizer[KeyPrefix + "unknown"].Value;
    }

    /// <summary>
    /// A ValidationProblem's messages for one field: the site's own sentence for a field it knows (key
    /// <c>Field_{field}</c>, in the player's language), otherwise what the service wrote (English).
    /// </summary>
    public static IEnumerable<string> ForField(string field, IEnumerable<string> messages, IStringLocalizer localizer)
    {
        var text = localizer[FieldKeyPrefix + field];
        return text.ResourceNotFound ? messages : [text.Value];
    }
}
