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

    /// <summary>
    /// How long one stream to the Bet Engine takes new bets before the next bet opens another. A stream is one request
    /// to an HTTP/2-aware balancer (Azure Container Apps' ingress, a service mesh), pinned to one Bet Engine replica for
    /// its life; ending it now and then lets replicas added by a scale-out take their share. The retired stream's bets
    /// still get their answers on it.
    /// </summary>
    public TimeSpan StreamLifetime { get; set; } = TimeSpan.FromMinutes(1);
}
