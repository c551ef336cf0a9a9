namespace StreamBets.Users.ResponsibleGambling;

/// <summary>
/// One player limit. Tightening it protects the player, so it applies at once; loosening or removing
/// it waits <see cref="ResponsibleGamblingRules.LooseningDelay"/>, so that a decision taken in the heat
/// of a session cannot take effect in that session. A null value means no limit.
/// </summary>
public sealed record LimitSetting(long? Value, bool HasPending, long? PendingValue, DateTimeOffset? PendingEffectiveAt)
{
    public static readonly LimitSetting None = new(null, false, null, null);

    /// <summary>The setting with a pending loosening folded in once its time has come.</summary>
    public LimitSetting Settled(DateTimeOffset now) =>
        HasPending && PendingEffectiveAt <= now ? new LimitSetting(PendingValue, false, null, null) : this;

    public long? EffectiveValue(DateTimeOffset now) => Settled(now).Value;

    public LimitSetting Request(long? requested, DateTimeOffset now)
    {
        var current = Settled(now);
        if (!IsLooser(requested, current.Value))
        {
            // Tighter or equal: applies now, and cancels any loosening still waiting.
            return new LimitSetting(requested, false, null, null);
        }
        if (current.HasPending && current.PendingValue == requested)
        {
            // Asking again for the same loosening does not restart its clock.
            return current;
        }
        return current with { HasPending = true, PendingValue = requested, PendingEffectiveAt = now + ResponsibleGamblingRules.LooseningDelay };
    }

    private static bool IsLooser(long? requested, long? current) => current is { } limit && (requested is null || requested > limit);
}

public enum LimitKind
{
    Deposit24Hours,
    Deposit7Days,
    Deposit30Days,
    SessionMinutes,
}

public static class ResponsibleGamblingRules
{
    public static readonly TimeSpan LooseningDelay = TimeSpan.FromHours(24);
    public const int MaxSessionMinutes = 24 * 60;
    public const long MaxDepositLimitMinor = 1_000_000_000_00;

    public static string Code(this LimitKind kind) => kind switch
    {
        LimitKind.Deposit24Hours => "deposit-24h",
        LimitKind.Deposit7Days => "deposit-7d",
        LimitKind.Deposit30Days => "deposit-30d",
        LimitKind.SessionMinutes => "session-minutes",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static LimitKind ParseKind(string code) =>
        Enum.GetValues<LimitKind>().Single(kind => kind.Code() == code);

    /// <summary>Rolling windows, so a limit cannot be doubled by depositing either side of midnight.</summary>
    public static TimeSpan Window(this LimitKind kind) => kind switch
    {
        LimitKind.Deposit24Hours => TimeSpan.FromHours(24),
        LimitKind.Deposit7Days => TimeSpan.FromDays(7),
        LimitKind.Deposit30Days => TimeSpan.FromDays(30),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), "Only deposit limits have a window."),
    };

    public static readonly IReadOnlyList<LimitKind> DepositLimits = [LimitKind.Deposit24Hours, LimitKind.Deposit7Days, LimitKind.Deposit30Days];
}
