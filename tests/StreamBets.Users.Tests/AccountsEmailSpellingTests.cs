using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Users.Accounts;

namespace StreamBets.Users.Tests;

/// <summary>
/// One mailbox is one account: an address typed with its domain in Unicode or in punycode, or its letters composed or
/// decomposed, is the same address for registration, sign-in and an admin's search.
/// </summary>
public sealed class AccountsEmailSpellingTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private const string Password = "correct-horse-battery";

    /// <summary>Each pair is one mailbox; {0} is a fresh tag, so every run has its own.</summary>
    public static TheoryData<string, string> SpellingsOfOneMailbox() => new()
    {
        { "p{0}@bücher.de", "p{0}@xn--bcher-kva.de" },
        { "p{0}@xn--bcher-kva.de", "p{0}@bücher.de" },
        { "josé{0}@example.com", "jose\u0301{0}@example.com" },
    };

    [Theory]
    [MemberData(nameof(SpellingsOfOneMailbox))]
    public async Task A_mailbox_registered_under_one_spelling_is_taken_under_another(string first, string second)
    {
        var tag = Tag();
        using var client = app.CreateClient();
        var registered = await client.PostAsJsonAsync("/api/users/register", Registration(string.Format(first, tag)));
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);

        var again = await client.PostAsJsonAsync("/api/users/register", Registration(string.Format(second, tag)));

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("https://streambets.dev/problems/email-taken", (await again.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(1, await app.ScalarAsync<long>("SELECT count(*) FROM users WHERE strpos(email, $1) > 0", tag));
    }

    [Theory]
    [MemberData(nameof(SpellingsOfOneMailbox))]
    public async Task A_player_signs_in_and_is_found_under_another_spelling_of_their_email(string registeredAs, string typedAs)
    {
        var tag = Tag();
        using var client = app.CreateClient();
        (await client.PostAsJsonAsync("/api/users/register", Registration(string.Format(registeredAs, tag)))).EnsureSuccessStatusCode();
        var typed = string.Format(typedAs, tag);

        var signIn = await client.PostAsJsonAsync("/api/users/login", new { email = typed, password = Password });

        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/users/admin/users?email={Uri.EscapeDataString(typed)}")).StatusCode);
    }

    [Fact]
    public async Task The_domain_is_stored_in_Unicode_and_the_address_composed()
    {
        var tag = Tag();
        using var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/users/register", Registration($"jose\u0301{tag}@xn--bcher-kva.de"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"josé{tag}@bücher.de", (await response.Content.ReadFromJsonAsync<ProfileView>())!.Email);
    }

    /// <summary>Accounts registered before domains were stored in Unicode may hold the punycode spelling.</summary>
    [Fact]
    public async Task An_account_stored_with_a_punycode_domain_keeps_its_mailbox()
    {
        var tag = Tag();
        using var client = app.CreateClient();
        var profile = (await (await client.PostAsJsonAsync("/api/users/register", Registration($"p{tag}@bücher.de"))).Content.ReadFromJsonAsync<ProfileView>())!;
        await app.ScalarAsync<int>("UPDATE users SET email = $1 WHERE id = $2", $"p{tag}@xn--bcher-kva.de", profile.Id);

        var again = await client.PostAsJsonAsync("/api/users/register", Registration($"p{tag}@bücher.de"));

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        foreach (var typed in new[] { $"p{tag}@xn--bcher-kva.de", $"p{tag}@bücher.de" })
        {
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/users/login", new { email = typed, password = Password })).StatusCode);
        }
    }

    /// <summary>Before the rule, one mailbox could be registered twice, under its Unicode and its punycode domain.</summary>
    [Fact]
    public async Task Two_accounts_registered_before_the_rule_under_two_spellings_each_sign_in_under_their_own()
    {
        var tag = Tag();
        using var client = app.CreateClient();
        var punycode = (await (await client.PostAsJsonAsync("/api/users/register", Registration($"p{tag}@bücher.de"))).Content.ReadFromJsonAsync<ProfileView>())!;
        await app.ScalarAsync<int>("UPDATE users SET email = $1 WHERE id = $2", $"p{tag}@xn--bcher-kva.de", punycode.Id);
        var unicode = (await (await client.PostAsJsonAsync("/api/users/register",
            AccountsTestApp.Registration(AccountsTestApp.NewEmail(), country: "DE", password: "another-horse-battery"))).Content.ReadFromJsonAsync<ProfileView>())!;
        await app.ScalarAsync<int>("UPDATE users SET email = $1 WHERE id = $2", $"p{tag}@bücher.de", unicode.Id);

        var asPunycode = await client.PostAsJsonAsync("/api/users/login", new { email = $"p{tag}@xn--bcher-kva.de", password = Password });
        var asUnicode = await client.PostAsJsonAsync("/api/users/login", new { email = $"p{tag}@bücher.de", password = "another-horse-battery" });

        Assert.Equal(HttpStatusCode.OK, asPunycode.StatusCode);
        Assert.Equal(HttpStatusCode.OK, asUnicode.StatusCode);
    }

    /// <summary>A domain today's rules refuse (IDNA's) may still belong to an account registered before them.</summary>
    [Fact]
    public async Task An_account_registered_before_the_rule_under_an_address_it_now_refuses_still_signs_in()
    {
        var tag = Tag();
        using var client = app.CreateClient();
        var profile = (await (await client.PostAsJsonAsync("/api/users/register", Registration($"p{tag}@example.com"))).Content.ReadFromJsonAsync<ProfileView>())!;
        await app.ScalarAsync<int>("UPDATE users SET email = $1 WHERE id = $2", $"p{tag}@-bad-.example", profile.Id);

        var signIn = await client.PostAsJsonAsync("/api/users/login", new { email = $"p{tag}@-bad-.example", password = Password });

        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
    }

    [Theory]
    [InlineData("\"p{0}\"@example.com", "Enter the email address without quotation marks.")]
    [InlineData("p{0}@xn--zz.example", "Enter a valid email address.")] // not punycode
    [InlineData("p{0}@-bad-.example", "Enter a valid email address.")] // not a domain name
    [InlineData("p{0}@üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü.example", "Enter a valid email address.")] // too long for DNS in punycode
    public async Task An_address_that_hides_another_spelling_or_no_domain_is_refused_naming_the_email(string email, string message)
    {
        using var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/users/register", Registration(string.Format(email, Tag())));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!;
        Assert.Equal([message], problem.Errors["email"]);
    }

    [Fact]
    public async Task The_password_may_not_be_the_email_sent_with_spaces_around_it()
    {
        var email = AccountsTestApp.NewEmail();
        using var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration($" {email} ", country: "DE", password: email));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!;
        Assert.Equal(["password"], problem.Errors.Keys.Order());
        Assert.Equal(0, await app.ScalarAsync<long>("SELECT count(*) FROM users WHERE lower(email) = lower($1)", email));
    }

    private static string Tag() => Guid.NewGuid().ToString("N")[..12];

    private static object Registration(string email) => AccountsTestApp.Registration(email, country: "DE", password: Password);
}
