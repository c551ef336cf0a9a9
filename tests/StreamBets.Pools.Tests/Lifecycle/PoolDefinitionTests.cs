using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;
using static StreamBets.Pools.Tests.Lifecycle.PoolFixtures;

namespace StreamBets.Pools.Tests.Lifecycle;

public class PoolDefinitionTests
{
    private static string[] FieldsBrokenBy(PoolDefinition definition)
    {
        var result = Pool.Create(Guid.NewGuid(), definition);
        Assert.False(result.IsSuccess);
        Assert.Equal(PoolErrorCodes.InvalidPool, result.Error.Code);
        return [.. result.Error.FieldErrors.Keys];
    }

    [Fact]
    public void A_valid_definition_creates_a_draft_with_trimmed_text_and_distinct_outcome_ids()
    {
        var id = Guid.NewGuid();

        var pool = Pool.Create(id, Definition() with { Title = "  Will I win?  ", Outcomes = [" Yes", "No "] }).Value!;

        Assert.Equal(id, pool.Id);
        Assert.Equal("Will I win?", pool.Title);
        Assert.Equal(["Yes", "No"], pool.Outcomes.Select(o => o.Label));
        Assert.NotEqual(pool.Outcomes[0].Id, pool.Outcomes[1].Id);
        Assert.Equal(PoolState.Draft, pool.State);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    [InlineData("This title is forty-six characters long, sorry")]
    public void A_title_is_required_and_at_most_45_characters(string? title)
    {
        Assert.Equal(["title"], FieldsBrokenBy(Definition() with { Title = title! }));
    }

    [Theory]
    [InlineData("Who\u0000wins?")] // PostgreSQL cannot store a NUL: this once reached the database and answered 500
    [InlineData("Who wins?\nTell me")]
    [InlineData("Who\twins?")]
    [InlineData("Yes\u200B")] // looks like "Yes": two outcomes would look the same
    [InlineData("\u200B")] // looks blank
    [InlineData("\u202EdeR")] // reads as "Red"
    [InlineData("Who wins?\u2028Tell me")] // a line separator: a title is one line
    [InlineData("Yes\u200D")] // a joiner with nothing to join
    public void A_title_or_an_outcome_label_with_a_control_line_breaking_or_invisible_character_is_refused(string text)
    {
        Assert.Equal(["title"], FieldsBrokenBy(Definition() with { Title = text }));
        Assert.Equal(["outcomes[1]"], FieldsBrokenBy(Definition() with { Outcomes = ["Yes", text[..Math.Min(text.Length, 20)]] }));
    }

    [Fact]
    public void Emoji_built_with_joiners_are_fine_in_titles_and_labels()
    {
        var family = "👨\u200D👩\u200D👧"; // one emoji, three people joined

        Assert.True(Pool.Create(Guid.NewGuid(), Definition() with { Title = $"Best {family} game?", Outcomes = [family, "Other"] }).IsSuccess);
    }

    [Fact]
    public void A_title_of_45_characters_counts_each_emoji_as_one()
    {
        var title = new string('x', 44) + "🏆"; // 46 UTF-16 units, 45 characters

        Assert.True(Pool.Create(Guid.NewGuid(), Definition() with { Title = title }).IsSuccess);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(11)]
    public void A_pool_has_two_to_ten_outcomes(int count)
    {
        var outcomes = Enumerable.Range(1, count).Select(i => $"Outcome {i}").ToArray();

        Assert.Equal(["outcomes"], FieldsBrokenBy(Definition() with { Outcomes = outcomes }));
    }

    [Fact]
    public void Ten_outcomes_are_allowed()
    {
        var outcomes = Enumerable.Range(1, 10).Select(i => $"Outcome {i}").ToArray();

        Assert.True(Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = outcomes }).IsSuccess);
    }

    [Theory]
    [InlineData(" ", false)]
    [InlineData("Twenty-five characters ok", true)]
    [InlineData("Twenty-six characters: too", false)]
    public void An_outcome_label_is_required_and_at_most_25_characters(string label, bool valid)
    {
        var result = Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = ["Yes", label] });

        Assert.Equal(valid, result.IsSuccess);
        Assert.Equal(valid ? null : "outcomes[1]", result.Error?.FieldErrors.Keys.Single());
    }

    [Theory]
    [InlineData("Yes", "Yes\uFE0F")] // a variation selector draws nothing after a letter
    [InlineData("Yes", "Yes\u034F")] // a combining grapheme joiner draws nothing
    [InlineData("Yes", "Y\u180Bes")] // a Mongolian variation selector
    [InlineData("Café", "Cafe\u0301")] // "é" as one character and as "e" plus an accent
    [InlineData("Café", "Cafe\u034F\u0301")] // the accent kept from composing by a joiner that draws nothing
    [InlineData("❤", "❤\uFE0F")] // the same heart, in colour
    [InlineData("Yes No", "Yes  No")] // a page shows both with one space
    [InlineData("Yes No", "Yes\u2800No")] // the Braille blank is drawn as a space
    [InlineData("Yes", "Yes\u3164")] // a Hangul filler is drawn blank
    public void Outcome_labels_that_look_the_same_are_one_label(string first, string lookalike)
    {
        Assert.Equal(["outcomes[2]"], FieldsBrokenBy(Definition() with { Outcomes = [first, "Other", lookalike] }));
    }

    [Theory]
    [InlineData("\u3164")] // Hangul filler
    [InlineData("\u115F\u1160")] // Hangul choseong and jungseong fillers
    [InlineData("\uFFA0")] // halfwidth Hangul filler
    [InlineData("\u2800")] // Braille blank
    [InlineData("\uFE0F")] // a variation selector with nothing to vary
    [InlineData(" \u2800 \u3164 ")]
    public void A_title_or_an_outcome_label_that_shows_nothing_is_blank(string text)
    {
        var title = Pool.Create(Guid.NewGuid(), Definition() with { Title = text });
        var label = Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = ["Yes", text] });

        Assert.Equal(["title"], title.Error?.FieldErrors.Keys);
        Assert.Equal(["outcomes[1]"], label.Error?.FieldErrors.Keys);
        Assert.Contains("blank", label.Error!.FieldErrors["outcomes[1]"].Single());
    }

    [Theory]
    [InlineData("🏆 Win", "Lose")]
    [InlineData("❤️", "💔")] // an emoji with its colour selector is fine on its own
    [InlineData("1️⃣", "1")] // a keycap is not the digit
    [InlineData("Café", "Cafe")]
    [InlineData("👨\u200D👩\u200D👧", "👨👩👧")] // one family, three people
    public void Labels_that_look_different_stay_two_labels(string first, string second)
    {
        Assert.True(Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = [first, second] }).IsSuccess);
    }

    [Fact]
    public void Titles_and_labels_are_kept_composed_so_players_see_one_spelling()
    {
        var pool = Pool.Create(Guid.NewGuid(), Definition() with { Title = " Cafe\u0301 quiz ", Outcomes = ["Cafe\u0301", "The\u0301"] }).Value!;

        Assert.Equal("Café quiz", pool.Title);
        Assert.Equal(["Café", "Thé"], pool.Outcomes.Select(o => o.Label));
    }

    [Fact]
    public void A_label_is_counted_in_the_characters_it_is_stored_with()
    {
        var label = new string('e', 24) + "e\u0301"; // 26 code points as typed, 25 once composed

        Assert.True(Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = ["Yes", label] }).IsSuccess);
    }

    [Fact]
    public void A_title_with_an_unpaired_surrogate_is_refused_not_thrown()
    {
        Assert.Equal(["title"], FieldsBrokenBy(Definition() with { Title = "Who wins?\uD800" }));
    }

    [Fact]
    public void Outcome_labels_are_unique_ignoring_case_and_spaces()
    {
        Assert.Equal(["outcomes[2]"], FieldsBrokenBy(Definition() with { Outcomes = ["Yes", "No", " yes "] }));
    }

    [Theory]
    [InlineData(29, false)]
    [InlineData(30, true)]
    [InlineData(1800, true)]
    [InlineData(1801, false)]
    public void The_betting_window_lasts_30_seconds_to_30_minutes(int seconds, bool valid)
    {
        var result = Pool.Create(Guid.NewGuid(), Definition() with { BettingWindow = TimeSpan.FromSeconds(seconds) });

        Assert.Equal(valid, result.IsSuccess);
        Assert.Equal(valid ? null : "bettingWindow", result.Error?.FieldErrors.Keys.Single());
    }

    [Fact]
    public void The_minimum_stake_is_at_least_one_minor_unit()
    {
        Assert.Equal(["minStake"], FieldsBrokenBy(Definition() with { MinStake = Money.Zero }));
    }

    [Fact]
    public void The_maximum_stake_is_not_below_the_minimum()
    {
        Assert.Equal(["maxStake"], FieldsBrokenBy(Definition() with { MinStake = new Money(500), MaxStake = new Money(499) }));
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(5000, true)]
    [InlineData(5001, false)]
    public void The_rake_is_0_to_5000_basis_points(int rakeBasisPoints, bool valid)
    {
        Assert.Equal(valid, Pool.Create(Guid.NewGuid(), Definition() with { RakeBasisPoints = rakeBasisPoints }).IsSuccess);
    }

    [Fact]
    public void Every_broken_rule_is_reported_at_once()
    {
        var definition = new PoolDefinition("", ["Only one"], TimeSpan.Zero, Money.Zero, new Money(-1), RakeBasisPoints: 9000);

        Assert.Equal(
            ["title", "outcomes", "bettingWindow", "minStake", "maxStake", "rakeBasisPoints"],
            FieldsBrokenBy(definition));
    }
}
