using System.Text.Json;
using Microsoft.Extensions.Localization;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Betting;

/// <summary>
/// Values a refusal's message may name: the pool's stake range for "stake-out-of-range"; the change sent with no answer
/// (a bet, a deposit) for "dependency-unavailable", as the player would name it. <paramref name="Action"/> is what was
/// refused, as CheckEligibility names it ("withdraw"): a code whose usual sentence is about betting or depositing has one
/// worded for it (key <c>Problem_{code}-{action}</c>).
/// </summary>
public sealed record ProblemContext(long? MinStakeMinor = null, long? MaxStakeMinor = null, string? UnansweredChange = null, string? Action = null);

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
        ["withdrawal-out-of-range"] = "maxAmountMinor",
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
        if (context?.Action is { } action && localizer[KeyPrefix + problem.Code + "-" + action] is { ResourceNotFound: false } worded)
        {
            return worded.Value;
        }
        var text = localizer[KeyPrefix + problem.Code];
        return !text.ResourceNotFound ? text.Value
            : problem.Detail ?? problem.Title ?? localizer[KeyPrefix + "unknown"].Value;
    }

    /// <summary>
    /// A ValidationProblem's messages for one field: the site's own sentence for a field it knows (key
    /// <c>Field_{field}</c>, or <c>Field_{field}-{action}</c> where the action words it differently, in the player's
    /// language), otherwise what the service wrote (English).
    /// </summary>
    public static IEnumerable<string> ForField(string field, IEnumerable<string> messages, IStringLocalizer localizer, string? action = null)
    {
        if (action is not null && localizer[FieldKeyPrefix + field + "-" + action] is { ResourceNotFound: false } worded)
        {
            return [worded.Value];
        }
        var text = localizer[FieldKeyPrefix + field];
        return text.ResourceNotFound ? messages : [text.Value];
    }
}
