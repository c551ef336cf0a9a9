namespace StreamBets.Users.Kyc;

/// <summary>Identity verification providers, from configuration section "Kyc".</summary>
public sealed class KycOptions
{
    public const string SectionName = "Kyc";

    /// <summary>Where new checks go: "sandbox" (local mode) or "onfido". Empty: no checks can start.</summary>
    public string? Provider { get; set; }

    public SandboxKycOptions Sandbox { get; set; } = new();
    public OnfidoOptions Onfido { get; set; } = new();
    public KycPollOptions Poll { get; set; } = new();
}

/// <summary>
/// How <see cref="PendingKycCheckPoller"/> asks the providers about checks whose completion webhook never came (section "Kyc:Poll").
/// </summary>
public sealed class KycPollOptions
{
    /// <summary>How often a round runs.</summary>
    public TimeSpan Every { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a check is left to its webhook before it is polled: long past a normal completion and a few of the
    /// provider's redeliveries, so a check is asked about only when its webhook is overdue.
    /// </summary>
    public TimeSpan PendingLongerThan { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>At most this many checks of each provider are asked about in one round, oldest first.</summary>
    public int MaxChecksPerRound { get; set; } = 50;
}

public sealed class SandboxKycOptions
{
    /// <summary>The key its webhooks are signed with; a random one per process when not set.</summary>
    public string? WebhookToken { get; set; }

    /// <summary>How long a sandbox check takes before its check.completed webhook arrives.</summary>
    public TimeSpan CompletionDelay { get; set; } = TimeSpan.FromSeconds(3);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

public sealed class OnfidoOptions
{
    public Uri BaseUrl { get; set; } = new("https://api.eu.onfido.com/v3.6/");
    public string? ApiToken { get; set; }

    /// <summary>The token Onfido returned when the webhook was registered; it keys the X-SHA2-Signature HMAC.</summary>
    public string? WebhookToken { get; set; }

    public string[] ReportNames { get; set; } = ["document", "facial_similarity_photo"];
}
