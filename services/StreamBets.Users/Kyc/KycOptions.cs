namespace StreamBets.Users.Kyc;

/// <summary>Identity verification providers, from configuration section "Kyc".</summary>
public sealed class KycOptions
{
    public const string SectionName = "Kyc";

    /// <summary>Where new checks go: "sandbox" (local mode) or "onfido". Empty: no checks can start.</summary>
    public string? Provider { get; set; }

    public SandboxKycOptions Sandbox { get; set; } = new();
    public OnfidoOptions Onfido { get; set; } = new();
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
