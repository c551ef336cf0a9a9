namespace StreamBets.Users.ResponsibleGambling;

/// <summary>All of a player's limits; a limit never set is <see cref="LimitSetting.None"/>.</summary>
public sealed class PlayerLimits(IReadOnlyDictionary<LimitKind, LimitSetting> settings)
{
    public static readonly PlayerLimits None = new(new Dictionary<LimitKind, LimitSetting>());

    public LimitSetting this[LimitKind kind] => settings.GetValueOrDefault(kind) ?? LimitSetting.None;

    public PlayerLimits With(LimitKind kind, LimitSetting setting)
    {
        var copy = new Dictionary<LimitKind, LimitSetting>(settings) { [kind] = setting };
        return new PlayerLimits(copy);
    }

    /// <summary>
    /// How much more may be deposited now: every deposit limit is measured over its own window and
    /// the lowest remaining amount wins. Null when no deposit limit is set.
    /// </summary>
    public long? DepositAllowance(DateTimeOffset now, IReadOnlyDictionary<LimitKind, long> depositedInWindow)
    {
        long? allowance = null;
        foreach (var kind in ResponsibleGamblingRules.DepositLimits)
        {
            if (this[kind].EffectiveValue(now) is { } limit)
            {
                var remaining = Math.Max(0, limit - depositedInWindow.GetValueOrDefault(kind));
                allowance = allowance is { } lowest ? Math.Min(lowest, remaining) : remaining;
            }
        }
        return allowance;
    }
}
