namespace StreamBets.Users.Kyc;

/// <summary>
/// KYC tiers: 0 may not bet or deposit; 1 = adult with a valid document number (CPF in Brazil);
/// 2 = document and selfie verified by a provider, required to withdraw.
/// </summary>
public static class KycTiers
{
    public const int Unverified = 0;
    public const int DocumentAccepted = 1;
    public const int Verified = 2;
}

/// <summary>The stable status words of the KycStatusChanged integration event.</summary>
public static class KycStatuses
{
    public const string DocumentAccepted = "document-accepted";
    public const string CheckPending = "check-pending";
    public const string InReview = "in-review";
    public const string Verified = "verified";
    public const string Rejected = "rejected";
}
