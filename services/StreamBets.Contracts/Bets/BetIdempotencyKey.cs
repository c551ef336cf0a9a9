using System.Diagnostics.CodeAnalysis;

namespace StreamBets.Contracts.Bets;

/// <summary>
/// A bet's idempotency key, checked alike by the Bet Engine and by the gateway before it relays a bet: a key refused
/// only once its relay message has arrived could, with enough like it, overflow that message for every bet on it.
/// </summary>
public static class BetIdempotencyKey
{
    public const int MaxLength = 100;

    public static readonly string Rule = $"The Idempotency-Key header is required: 1 to {MaxLength} characters, no control characters, unique per bet.";

    /// <summary>
    /// 1 to <see cref="MaxLength"/> characters, not all white space, and no control character: PostgreSQL text cannot
    /// hold NUL, and one key it refuses would fail the pending write of every bet in its pool's batch.
    /// </summary>
    public static bool IsWellFormed([NotNullWhen(true)] string? key) =>
        !string.IsNullOrWhiteSpace(key) && key.Length <= MaxLength
        && !key.AsSpan().ContainsAnyInRange('\u0000', '\u001f') && !key.AsSpan().ContainsAnyInRange('\u007f', '\u009f');
}
