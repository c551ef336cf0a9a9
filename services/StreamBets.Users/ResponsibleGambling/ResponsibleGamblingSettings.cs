using System.Text.Json.Serialization;

namespace StreamBets.Users.ResponsibleGambling;

/// <summary>A limit as the player sees it: what applies now and any loosening still waiting.</summary>
public sealed record LimitView(long? Current, long? Pending, DateTimeOffset? PendingEffectiveAt)
{
    public static LimitView From(LimitSetting setting, DateTimeOffset now)
    {
        var settled = setting.Settled(now);
        return new LimitView(settled.Value, settled.PendingValue, settled.PendingEffectiveAt);
    }
}

public sealed record SelfExclusionView(string Period, DateTimeOffset StartedAt, DateTimeOffset? EndsAt, bool Active)
{
    public static SelfExclusionView From(SelfExclusion exclusion, DateTimeOffset now) =>
        new(exclusion.Period, exclusion.StartedAt, exclusion.EndsAt, exclusion.IsActive(now));
}

public sealed record LimitsView(LimitView Deposit24hMinor, LimitView Deposit7dMinor, LimitView Deposit30dMinor, LimitView SessionMinutes, SelfExclusionView? SelfExclusion);

/// <summary>The whole set of limits; a null (or missing) field asks for no limit of that kind. A field of another name is
/// refused, not ignored: a misspelt limit would otherwise ask for that limit's removal.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LimitsRequest(long? Deposit24hMinor, long? Deposit7dMinor, long? Deposit30dMinor, long? SessionMinutes);

public sealed record SelfExclusionRequest(string? Period);

/// <summary>The player's own responsible-gambling settings.</summary>
public sealed class ResponsibleGamblingSettings(ResponsibleGamblingStore store, TimeProvider time)
{
    public async Task<LimitsView> GetAsync(Guid userId, CancellationToken cancellationToken)
    {
        var limits = await store.GetLimitsAsync(userId, cancellationToken);
        var exclusion = await store.GetSelfExclusionAsync(userId, cancellationToken);
        return View(limits, exclusion, time.GetUtcNow());
    }

    public async Task<Outcome<LimitsView>> SetLimitsAsync(Guid userId, LimitsRequest request, CancellationToken cancellationToken)
    {
        var requested = new Dictionary<LimitKind, long?>
        {
            [LimitKind.Deposit24Hours] = request.Deposit24hMinor,
            [LimitKind.Deposit7Days] = request.Deposit7dMinor,
            [LimitKind.Deposit30Days] = request.Deposit30dMinor,
            [LimitKind.SessionMinutes] = request.SessionMinutes,
        };
        var errors = new FieldErrors();
        foreach (var (kind, value) in requested)
        {
            var max = kind == LimitKind.SessionMinutes ? ResponsibleGamblingRules.MaxSessionMinutes : ResponsibleGamblingRules.MaxDepositLimitMinor;
            if (value is { } v && (v <= 0 || v > max))
            {
                errors.Add(FieldName(kind), $"Must be between 1 and {max}, or null for no limit.");
            }
        }
        if (errors.Any)
        {
            return Outcome<LimitsView>.Invalid(errors.ToDictionary());
        }

        var now = time.GetUtcNow();
        var limits = await store.ChangeLimitsAsync(userId,
            current => requested.Aggregate(current, (limits, change) => limits.With(change.Key, current[change.Key].Request(change.Value, now))),
            now, cancellationToken);
        return View(limits, await store.GetSelfExclusionAsync(userId, cancellationToken), now);
    }

    public async Task<Outcome<SelfExclusionView>> SelfExcludeAsync(Guid userId, SelfExclusionRequest request, CancellationToken cancellationToken)
    {
        if (request.Period is null || !SelfExclusion.Periods.Contains(request.Period))
        {
            return Outcome<SelfExclusionView>.Invalid(new Dictionary<string, string[]>
            {
                ["period"] = [$"Choose one of: {string.Join(", ", SelfExclusion.Periods)}."],
            });
        }
        var now = time.GetUtcNow();
        var exclusion = await store.ExcludeAsync(userId, SelfExclusion.Start(request.Period, now), now, cancellationToken);
        return SelfExclusionView.From(exclusion, now);
    }

    private static LimitsView View(PlayerLimits limits, SelfExclusion? exclusion, DateTimeOffset now) => new(
        LimitView.From(limits[LimitKind.Deposit24Hours], now),
        LimitView.From(limits[LimitKind.Deposit7Days], now),
        LimitView.From(limits[LimitKind.Deposit30Days], now),
        LimitView.From(limits[LimitKind.SessionMinutes], now),
        exclusion is null ? null : SelfExclusionView.From(exclusion, now));

    private static string FieldName(LimitKind kind) => kind switch
    {
        LimitKind.Deposit24Hours => "deposit24hMinor",
        LimitKind.Deposit7Days => "deposit7dMinor",
        LimitKind.Deposit30Days => "deposit30dMinor",
        _ => "sessionMinutes",
    };
}
