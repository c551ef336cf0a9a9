using System.Globalization;
using System.Resources;

namespace StreamBets.Web.Tests;

/// <summary>Every refusal a player can meet while betting or depositing has its own sentence in both languages.</summary>
public sealed class ProblemTextTests
{
    private static readonly ResourceManager Strings = new("StreamBets.Web.Resources.SharedResource", typeof(SharedResource).Assembly);

    // The bet engine's stable rejection codes (docs/bets.md), the deposit refusals (docs/users.md) and a streamer's
    // refusals when opening a pool (docs/pools.md).
    public static TheoryData<string> Codes => new()
    {
        "insufficient-funds", "pool-locked", "pool-closed", "pool-not-open", "pool-not-found", "stake-out-of-range", "second-outcome", "unknown-outcome",
        "self-excluded", "kyc-tier-too-low", "under-age", "account-locked", "session-limit-reached", "idempotency-key-reused",
        "dependency-unavailable", "not-eligible", "wallet-rejected", "deposit-limit-exceeded", "rate-limited",
        "channel-not-yours", "channel-has-active-pool", "not-pool-owner",
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
}
