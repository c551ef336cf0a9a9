namespace StreamBets.Users.Accounts;

/// <summary>A player's, streamer's or admin's account as stored.</summary>
public sealed record UserAccount(
    Guid Id,
    string Email,
    string PasswordHash,
    string DisplayName,
    DateOnly DateOfBirth,
    string Country,
    IdentityDocument? Document,
    string Role,
    int KycTier,
    string? AvatarUrl,
    bool MarketingOptIn,
    DateTimeOffset CreatedAt);

/// <summary>A streamer's channel on a streaming platform, linked by the Integration service.</summary>
public sealed record LinkedChannel(string Platform, string ChannelId, string ChannelName, DateTimeOffset LinkedAt);
