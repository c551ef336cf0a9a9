using StreamBets.Users.Accounts;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Tests;

/// <summary>The limit rules on their own, without a server.</summary>
public sealed class ResponsibleGamblingLimitTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Lowering_a_limit_applies_at_once()
    {
        var limit = new LimitSetting(10_000, false, null, null).Request(5_000, Now);

        Assert.Equal(5_000, limit.EffectiveValue(Now));
    }

    [Fact]
    public void Setting_a_first_limit_applies_at_once()
    {
        Assert.Equal(5_000, LimitSetting.None.Request(5_000, Now).EffectiveValue(Now));
    }

    [Fact]
    public void Raising_a_limit_waits_24_hours()
    {
        var limit = new LimitSetting(5_000, false, null, null).Request(20_000, Now);

        Assert.Equal(5_000, limit.EffectiveValue(Now.AddHours(24).AddTicks(-1)));
        Assert.Equal(20_000, limit.EffectiveValue(Now.AddHours(24)));
    }

    [Fact]
    public void Removing_a_limit_waits_24_hours()
    {
        var limit = new LimitSetting(5_000, false, null, null).Request(null, Now);

        Assert.Equal(5_000, limit.EffectiveValue(Now.AddHours(23)));
        Assert.Null(limit.EffectiveValue(Now.AddHours(24)));
    }

    [Fact]
    public void Asking_again_for_the_same_raise_does_not_restart_its_clock()
    {
        var limit = new LimitSetting(5_000, false, null, null).Request(20_000, Now).Request(20_000, Now.AddHours(12));

        Assert.Equal(Now.AddHours(24), limit.PendingEffectiveAt);
    }

    [Fact]
    public void Lowering_cancels_a_raise_still_waiting()
    {
        var limit = new LimitSetting(5_000, false, null, null).Request(20_000, Now).Request(4_000, Now.AddHours(1));

        Assert.Equal((4_000L, false), (limit.Value, limit.HasPending));
        Assert.Equal(4_000, limit.EffectiveValue(Now.AddDays(2)));
    }

    [Fact]
    public void The_lowest_remaining_deposit_allowance_wins()
    {
        var limits = PlayerLimits.None
            .With(LimitKind.Deposit24Hours, new LimitSetting(10_000, false, null, null))
            .With(LimitKind.Deposit7Days, new LimitSetting(6_000, false, null, null))
            .With(LimitKind.Deposit30Days, new LimitSetting(50_000, false, null, null));
        var deposited = new Dictionary<LimitKind, long> { [LimitKind.Deposit24Hours] = 1_000, [LimitKind.Deposit7Days] = 4_000, [LimitKind.Deposit30Days] = 49_500 };

        Assert.Equal(500, limits.DepositAllowance(Now, deposited));
        Assert.Null(PlayerLimits.None.DepositAllowance(Now, deposited));
    }

    [Fact]
    public void A_self_exclusion_can_be_lengthened_but_never_shortened()
    {
        var twelveMonths = SelfExclusion.Start("12-months", Now);

        Assert.Equal(twelveMonths, SelfExclusion.Combine(twelveMonths, SelfExclusion.Start("6-months", Now.AddDays(1)), Now.AddDays(1)));
        Assert.Null(SelfExclusion.Combine(twelveMonths, SelfExclusion.Start("indefinite", Now.AddDays(1)), Now.AddDays(1)).EndsAt);
        Assert.Equal(Now.AddMonths(6), SelfExclusion.Start("6-months", Now).EndsAt);
        // Judged on a replica whose clock is two seconds behind the one that stored it: still active, still not shortened.
        Assert.Equal(twelveMonths, SelfExclusion.Combine(twelveMonths, SelfExclusion.Start("6-months", Now.AddSeconds(-2)), Now.AddSeconds(-2)));
    }

    [Theory]
    [InlineData("2026-03-10T00:30:00Z", false)] // 21:30 on the 9th in Brasília: still 17 there
    [InlineData("2026-03-10T11:59:00Z", false)] // the 10th has not begun everywhere yet (UTC−12)
    [InlineData("2026-03-10T12:00:00Z", true)]
    // Born on 29 February 2008: in 2026, a common year, of age on 1 March, not 28 February.
    [InlineData("2026-03-01T11:59:00Z", false, "2008-02-29")]
    [InlineData("2026-03-01T12:00:00Z", true, "2008-02-29")]
    public void A_player_is_of_age_once_the_18th_birthday_has_begun_everywhere(string at, bool adult, string born = "2008-03-10")
    {
        var now = DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture);
        var bornOn = new EligibilitySnapshot(DateOnly.Parse(born, System.Globalization.CultureInfo.InvariantCulture), 2, null, null, PlayerLimits.None, new Dictionary<LimitKind, long>());

        var decision = EligibilityRules.Decide(bornOn, PlayerAction.Bet, null, now);

        Assert.Equal(adult ? null : "under-age", decision.Reason);
    }

    [Fact]
    public void A_minor_is_refused_before_anything_else()
    {
        var minor = new EligibilitySnapshot(DateOnly.FromDateTime(Now.UtcDateTime).AddYears(-AccountRules.MinimumAge).AddDays(1), 2, null, null,
            PlayerLimits.None, new Dictionary<LimitKind, long>());

        var decision = EligibilityRules.Decide(minor, PlayerAction.Bet, null, Now);

        Assert.Equal((false, "under-age"), (decision.Allowed, decision.Reason));
    }
}
