namespace StreamBets.Gateway.Bets;

public sealed class BetRelayOptions
{
    public const string SectionName = "BetRelay";

    /// <summary>
    /// How long a player waits for the Bet Engine's answer before being told to send the bet again (503 + Retry-After,
    /// the Idempotency-Key makes that safe). A bet is normally answered in tens of milliseconds. The default is under
    /// ServiceDefaults' 10 s attempt timeout, which the Web app's own call to the Gateway has, so that the player's
    /// answer is this one rather than their client giving up.
    /// </summary>
    public TimeSpan AnswerDeadline { get; set; } = TimeSpan.FromSeconds(8);
}
