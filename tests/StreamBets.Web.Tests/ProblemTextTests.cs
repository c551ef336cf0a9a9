using System.Globalization;
using System.Resources;
using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Localization;
using StreamBets.FrontEnd;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Betting;
using StreamBets.Web.Components.Shared;

namespace StreamBets.Web.Tests;

/// <summary>Every refusal a player can meet while betting or depositing has its own sentence in both languages.</summary>
public sealed class ProblemTextTests
{
    private static readonly ResourceManager Strings = new("StreamBets.Web.Resources.SharedResource", typeof(SharedResource).Assembly);

    // The bet engine's stable rejection codes (docs/bets.md), the deposit refusals (docs/users.md) and a streamer's
    // refusals when opening a pool (docs/pools.md), and a password change's wrong current password.
    public static TheoryData<string> Codes => new()
    {
        "insufficient-funds", "pool-locked", "pool-closed", "pool-not-open", "pool-not-found", "stake-out-of-range", "second-outcome", "unknown-outcome",
        "self-excluded", "kyc-tier-too-low", "under-age", "account-locked", "session-limit-reached", "idempotency-key-reused",
        "dependency-unavailable", "not-eligible", "user-not-found", "wallet-rejected", "deposit-limit-exceeded", "rate-limited", "request-too-large",
        "channel-not-yours", "channel-has-active-pool", "not-pool-owner", "pools-settings-unavailable", "wrong-password",
    };

    [Theory]
    [MemberData(nameof(Codes))]
    public void A_refusal_reads_in_English_and_in_Portuguese(string code)
    {
        var english = Strings.GetString("Problem_" + code, new CultureInfo("en"));
        var portuguese = Strings.GetString("Problem_" + code, new CultureInfo("pt-BR"));

        Assert.False(string.IsNullOrWhiteSpace(english));
        Assert.False(string.IsNullOrWhiteSpace(portuguese));
        Assert.NotEqual(english, portuguese);
    }

    [Fact]
    public void A_field_the_site_knows_reads_in_the_players_language_whatever_the_service_wrote()
    {
        var problem = ApiProblem.Of(400, "invalid-request") with
        {
            Errors = new Dictionary<string, string[]> { ["displayName"] = ["The display name must have 2 to 32 characters, with no control or invisible characters."] },
        };
        var previous = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = new CultureInfo("pt-BR");
        try
        {
            using var bunit = new BunitContext();
            bunit.Services.AddLocalization(options => options.ResourcesPath = "Resources");

            var field = bunit.Render<FieldErrors>(parameters => parameters.Add(p => p.Problem, problem).Add(p => p.Field, "displayName"));

            Assert.Equal(Strings.GetString("Field_displayName", CultureInfo.CurrentUICulture), field.Find(".field-error").TextContent);
        }
        finally
        {
            CultureInfo.CurrentUICulture = previous;
        }
    }

    // The fields whose errors the sign-up, verification and limits pages show, and what the services write for them.
    public static TheoryData<string, string> ShownFields => new()
    {
        { "email", "Enter a valid email address." },
        { "password", "The password must have at least 10 characters." },
        { "dateOfBirth", "You must be at least 18 years old." },
        { "country", "Enter an ISO 3166-1 alpha-2 country code, such as BR." },
        { "cpf", "The CPF must have 11 digits and valid check digits." },
        { "documentNumber", "The document number must have 5 to 20 letters or digits." },
        { "firstName", "Enter your first name as it appears on your document." },
        { "lastName", "Enter your last name as it appears on your document." },
        { "deposit24hMinor", "Must be between 1 and 100000000000, or null for no limit." },
        { "deposit7dMinor", "Must be between 1 and 100000000000, or null for no limit." },
        { "deposit30dMinor", "Must be between 1 and 100000000000, or null for no limit." },
        { "sessionMinutes", "Must be between 1 and 1440, or null for no limit." },
        { "period", "Choose one of: 24-hours, 7-days, 30-days, 6-months, indefinite." },
    };

    [Theory]
    [MemberData(nameof(ShownFields))]
    public void A_field_error_a_page_shows_reads_in_Portuguese_for_a_Portuguese_player(string field, string serviceText)
    {
        var previous = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = new CultureInfo("pt-BR");
        try
        {
            using var services = new ServiceCollection().AddLogging().AddLocalization(options => options.ResourcesPath = "Resources").BuildServiceProvider();

            var shown = ProblemText.ForField(field, [serviceText], services.GetRequiredService<IStringLocalizer<SharedResource>>());

            var portuguese = Strings.GetString(ProblemText.FieldKeyPrefix + field, CultureInfo.CurrentUICulture);
            Assert.Equal([portuguese], shown);
            Assert.NotEqual(Strings.GetString(ProblemText.FieldKeyPrefix + field, new CultureInfo("en")), portuguese);
        }
        finally
        {
            CultureInfo.CurrentUICulture = previous;
        }
    }

    [Fact]
    public void A_deposit_over_the_limits_names_what_may_still_be_deposited()
    {
        var problem = ApiProblem.Of(422, "deposit-limit-exceeded") with
        {
            Extensions = new Dictionary<string, JsonElement> { ["depositAllowanceMinor"] = JsonSerializer.SerializeToElement(25_00) },
        };
        using var services = new ServiceCollection().AddLogging().AddLocalization(options => options.ResourcesPath = "Resources").BuildServiceProvider();
        var localizer = services.GetRequiredService<IStringLocalizer<SharedResource>>();

        Assert.Contains(Money.Format(25_00), ProblemText.For(problem, localizer));
    }

    [Theory]
    [InlineData("en", "twice")]
    [InlineData("pt-BR", "duas vezes")]
    public void A_service_that_did_not_answer_promises_no_safe_retry_for_a_change_with_no_idempotency_key(string culture, string promise)
    {
        // KYC, limits, self-exclusion, sign-up and a streamer's pool changes carry no key: resent, they may count twice.
        var text = Strings.GetString("Problem_dependency-unavailable", new CultureInfo(culture))!;

        Assert.DoesNotContain(promise, text, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("en", "only once")]
    [InlineData("pt-BR", "uma vez só")]
    public void A_bet_or_deposit_that_had_no_answer_counts_once_when_sent_again_under_its_key(string culture, string promise)
    {
        var text = Strings.GetString("Problem_dependency-unavailable-change", new CultureInfo(culture))!;

        Assert.Contains(promise, text, StringComparison.OrdinalIgnoreCase);
    }
}
