using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Users.Accounts;

namespace StreamBets.Users.Tests;

public sealed class AccountsRegistrationTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    [Fact]
    public async Task The_OpenAPI_document_describes_registration()
    {
        // The document is generated from the endpoints' types: one the generator cannot describe (a JsonElement with a
        // default value) answered 500 for the whole document.
        using var client = app.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("marketingOptIn", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_player_outside_Brazil_registers_at_kyc_tier_0_and_UserRegistered_is_published()
    {
        var email = AccountsTestApp.NewEmail();
        using var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration(email, country: "pt"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var profile = (await response.Content.ReadFromJsonAsync<ProfileView>())!;
        Assert.Equal(("player", 0, "PT", email), (profile.Role, profile.KycTier, profile.Country, profile.Email));
        Assert.Equal(["streambets.users.registered.v1"], await app.PublishedEventTypesAsync(profile.Id, atLeast: 1));
    }

    [Fact]
    public async Task A_Brazilian_with_a_valid_CPF_starts_at_kyc_tier_1()
    {
        using var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), cpf: "529.982.247-25"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var profile = (await response.Content.ReadFromJsonAsync<ProfileView>())!;
        Assert.Equal(1, profile.KycTier);
        Assert.Equal("52998224725", await app.ScalarAsync<string>("SELECT document_number FROM users WHERE id = $1", profile.Id));
        Assert.Equal(["streambets.users.registered.v1", "streambets.users.kyc-status-changed.v1"], await app.PublishedEventTypesAsync(profile.Id, atLeast: 2));
    }

    public static TheoryData<string, object> InvalidRegistrations() => new()
    {
        { "email", AccountsTestApp.Registration("not-an-email") },
        { "email", AccountsTestApp.Registration("player@localhost") },
        { "email", AccountsTestApp.Registration("Name <player@example.com>") },
        { "dateOfBirth", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), dateOfBirth: DateTime.UtcNow.AddYears(-18).AddDays(1).ToString("yyyy-MM-dd")) },
        { "dateOfBirth", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), dateOfBirth: "17/05/1990") },
        { "dateOfBirth", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), dateOfBirth: "9999-12-31") },
        { "displayName", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "Ana \u202Eevil", dateOfBirth = "1990-01-01", country = "DE" } },
        { "displayName", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "\u200B\u200B\u200B", dateOfBirth = "1990-01-01", country = "DE" } },
        { "displayName", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "Ana\u200D", dateOfBirth = "1990-01-01", country = "DE" } },
        { "displayName", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "Ana\U000E0041\U000E0042", dateOfBirth = "1990-01-01", country = "DE" } },
        { "displayName", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "Ana\u2028Bea", dateOfBirth = "1990-01-01", country = "DE" } },
        { "cpf", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), cpf: "529.982.247-26") },
        { "cpf", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), cpf: "111.111.111-11") },
        { "cpf", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), cpf: "5299822472") },
        { "cpf", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "No CPF", dateOfBirth = "1990-01-01", country = "BR" } },
        { "country", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), country: "XX") },
        { "country", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), country: "BRA") },
        { "password", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), password: "short") },
        { "marketingOptIn", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "Ana", dateOfBirth = "1990-01-01", country = "DE", marketingOptIn = "yes" } },
        { "marketingOptIn", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "Ana", dateOfBirth = "1990-01-01", country = "DE", marketingOptIn = (bool?)null } },
        { "marketingOptIn", new { email = AccountsTestApp.NewEmail(), password = "correct-horse-battery", displayName = "Ana", dateOfBirth = "1990-01-01", country = "DE", marketingOptIn = 1 } },
    };

    [Theory]
    [MemberData(nameof(InvalidRegistrations))]
    /// <summary>Events are written only with a user row, in its transaction, so no row also means no event.</summary>
    public async Task Invalid_registration_is_a_validation_problem_naming_the_field_and_writes_nothing(string field, object registration)
    {
        var usersBefore = await app.ScalarAsync<long>("SELECT count(*) FROM users");
        using var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/users/register", registration);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!;
        Assert.Contains(field, problem.Errors.Keys);
        Assert.Equal(usersBefore, await app.ScalarAsync<long>("SELECT count(*) FROM users"));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(null, false)] // left out
    public async Task The_marketing_opt_in_is_stored_as_sent_and_is_no_when_left_out(bool? sent, bool stored)
    {
        using var client = app.CreateClient();
        var email = AccountsTestApp.NewEmail();
        object registration = sent is { } optIn
            ? new { email, password = "correct-horse-battery", displayName = "Ana", dateOfBirth = "1990-01-01", country = "DE", marketingOptIn = optIn }
            : new { email, password = "correct-horse-battery", displayName = "Ana", dateOfBirth = "1990-01-01", country = "DE" };

        var response = await client.PostAsJsonAsync("/api/users/register", registration);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(stored, (await response.Content.ReadFromJsonAsync<ProfileView>())!.MarketingOptIn);
    }

    [Fact]
    public async Task Every_invalid_field_is_reported_at_once()
    {
        using var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/users/register",
            new { email = "nope", password = "x", displayName = "", dateOfBirth = "2020-01-01", country = "ZZ" });

        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!;
        Assert.Equal(["country", "dateOfBirth", "displayName", "email", "password"], problem.Errors.Keys.Order());
        Assert.Equal("https://streambets.dev/problems/invalid-request", problem.Type); // as every service types field errors
    }

    [Fact]
    public async Task An_email_is_taken_whatever_its_letter_case()
    {
        var email = AccountsTestApp.NewEmail();
        using var client = app.CreateClient();
        (await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration(email, country: "DE"))).EnsureSuccessStatusCode();

        var again = await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration(email.ToUpperInvariant(), country: "DE"));

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("https://streambets.dev/problems/email-taken", (await again.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(1, await app.ScalarAsync<long>("SELECT count(*) FROM users WHERE lower(email) = lower($1)", email));
    }

    [Fact]
    public async Task One_CPF_opens_one_account()
    {
        var cpf = AccountsTestApp.NextCpf();
        using var client = app.CreateClient();
        (await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), cpf: cpf))).EnsureSuccessStatusCode();

        var second = await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration(AccountsTestApp.NewEmail(), cpf: cpf));

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("https://streambets.dev/problems/document-taken", (await second.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
    }

    [Theory]
    [InlineData("529.982.247-25", true)]
    [InlineData("52998224725", true)]
    [InlineData("111.444.777-35", true)]
    [InlineData("111.444.777-53", false)]
    [InlineData("000.000.000-00", false)]
    [InlineData("529.982.247-2X", false)]
    [InlineData("529 982 247 25", false)]
    [InlineData("", false)]
    public void CPF_check_digits_are_validated(string input, bool valid) => Assert.Equal(valid, Cpf.TryNormalize(input, out _));

    [Fact]
    public void A_player_turns_18_on_their_birthday()
    {
        Assert.True(AccountRules.IsAdult(new DateOnly(2000, 5, 17), new DateOnly(2018, 5, 17)));
        Assert.False(AccountRules.IsAdult(new DateOnly(2000, 5, 17), new DateOnly(2018, 5, 16)));
    }
}
