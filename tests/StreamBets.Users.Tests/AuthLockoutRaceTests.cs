using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Users.Accounts;

namespace StreamBets.Users.Tests;

/// <summary>Guesses sent side by side: each passes the lock check before its slow password hash.</summary>
public sealed class AuthLockoutRaceTests(AuthLockoutRaceTests.App app) : IClassFixture<AuthLockoutRaceTests.App>
{
    [Fact]
    public async Task A_right_password_checked_while_wrong_guesses_lock_the_account_does_not_sign_in_nor_lift_the_lock()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        // The right password's check is held mid-hash while five wrong guesses lock the account.
        var held = app.Hasher.HoldNext();
        var right = LoginAsync(client, player.Email, player.Password);
        await held.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 5; i++)
        {
            await LoginAsync(client, player.Email, "wrong-password");
        }
        held.Release();

        Assert.Equal(HttpStatusCode.Locked, (await right).StatusCode);
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, player.Password)).StatusCode);
    }

    [Theory]
    [InlineData("ana\u0000@example.com")]
    [InlineData("ana@example.com\n")]
    public async Task An_email_no_account_can_have_is_a_plain_wrong_login(string email)
    {
        using var client = app.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, email, "correct-horse-battery")).StatusCode);
    }

    [Fact]
    public async Task An_email_too_long_to_be_one_is_a_plain_wrong_login()
    {
        using var client = app.CreateClient();
        var random = new Random(7);
        var email = new string([.. Enumerable.Range(0, 3_000).Select(_ => (char)random.Next('a', 'z' + 1))]) + "@example.com";

        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, email, "correct-horse-battery")).StatusCode);
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string email, string password) =>
        client.PostAsJsonAsync("/api/users/login", new { email, password });

    public sealed class App : AccountsTestApp
    {
        public HeldHasher Hasher { get; } = new();

        protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IPasswordHasher<UserAccount>>(Hasher);
    }

    /// <summary>The app's hasher, whose next password check can be held after it starts.</summary>
    public sealed class HeldHasher : IPasswordHasher<UserAccount>
    {
        private readonly PasswordHasher<UserAccount> _inner = new(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions { IterationCount = 1_000 }));
        private Hold? _next;

        public Hold HoldNext() => _next = new Hold();

        public string HashPassword(UserAccount user, string password) => _inner.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(UserAccount user, string hashedPassword, string providedPassword)
        {
            if (Interlocked.Exchange(ref _next, null) is { } hold)
            {
                hold.Wait();
            }
            return _inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }

    public sealed class Hold
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _released = new();

        public Task Entered => _entered.Task;

        public void Release() => _released.Set();

        internal void Wait()
        {
            _entered.TrySetResult();
            _released.Wait(TimeSpan.FromSeconds(30));
        }
    }
}
