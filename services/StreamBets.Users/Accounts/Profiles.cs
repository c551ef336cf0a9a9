using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Users.Auth;
using Roles = Microsoft.Extensions.Hosting.AuthenticationDefaults.Roles;

namespace StreamBets.Users.Accounts;

public sealed record ProfileView(
    Guid Id, string Email, string DisplayName, string? AvatarUrl, string Role, int KycTier, string Country, DateOnly DateOfBirth, bool MarketingOptIn, DateTimeOffset CreatedAt)
{
    public static ProfileView From(UserAccount account) => new(account.Id, account.Email, account.DisplayName, account.AvatarUrl, account.Role,
        account.KycTier, account.Country, account.DateOfBirth, account.MarketingOptIn, account.CreatedAt);
}

/// <summary>Display name and avatar (null removes it); marketing consent stays as it is when not given.</summary>
public sealed record UpdateProfileRequest(string? DisplayName, string? AvatarUrl, bool? MarketingOptIn);

public sealed record RoleChangeRequest(string? Role);

/// <summary>Profiles as their owners and admins see and change them.</summary>
public sealed partial class Profiles(
    AccountStore accounts, Authenticator authenticator, SessionStore sessions, NpgsqlDataSource db, IOutbox outbox, TimeProvider time, ILogger<Profiles> logger)
{
    /// <summary>The roles an admin may give through the API; admins are made by configuration only.</summary>
    public static readonly IReadOnlyList<string> AssignableRoles = [Roles.Player, Roles.Streamer];

    public async Task<ProfileView?> GetAsync(Guid userId, CancellationToken cancellationToken) =>
        await accounts.FindByIdAsync(userId, cancellationToken) is { } account ? ProfileView.From(account) : null;

    public async Task<Outcome<ProfileView>> UpdateAsync(Guid userId, UpdateProfileRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Locked: a name is judged against the one this save replaces (a name kept as stored is not judged again).
        if (await AccountStore.LockByIdAsync(transaction, userId, cancellationToken) is not { } current)
        {
            return Problems.UserNotFound();
        }
        var errors = new FieldErrors();
        if (!AccountRules.TryNormalizeDisplayNameChange(request.DisplayName, current.DisplayName, out var displayName))
        {
            errors.Add("displayName", AccountRules.DisplayNameRule);
        }
        var avatarUrl = string.IsNullOrWhiteSpace(request.AvatarUrl) ? null : request.AvatarUrl.Trim();
        if (avatarUrl is not null && !AccountRules.IsValidAvatarUrl(avatarUrl))
        {
            errors.Add("avatarUrl", "The avatar must be an absolute https URL.");
        }
        if (errors.Any)
        {
            return Outcome<ProfileView>.Invalid(errors.ToDictionary());
        }

        // The name others see goes out with the change, in its transaction: services that show it (leaderboards) follow every save.
        var updated = (await AccountStore.UpdateProfileAsync(
            transaction, userId, displayName, avatarUrl, request.MarketingOptIn ?? current.MarketingOptIn, now, cancellationToken))!;
        await outbox.AddAsync(transaction, new UserProfileChanged(userId, updated.DisplayName, now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ProfileView.From(updated);
    }

    /// <summary>
    /// An admin makes a player a streamer or back. A granted role reaches the user's token at its next refresh; a removed
    /// one ends the user's sessions at once, since the old token would keep the pool controls for up to its 15 minutes.
    /// A change publishes <see cref="UserRoleChanged"/>, on which Pools unlinks a demoted streamer's channels.
    /// </summary>
    /// <remarks>
    /// The role and the end of the sessions commit together: a request cut off or failing between the two would leave a
    /// player role whose streamer tokens live on, and a repeat would find nothing left to remove. Once committed, the
    /// sessions' ids are announced whether or not the admin is still connected, and a repeated demotion announces the
    /// sessions it ended again, in case the first announcement never left (the process died right after the commit).
    /// </remarks>
    public async Task<Outcome<ProfileView>> ChangeRoleAsync(Guid userId, RoleChangeRequest request, Guid adminId, CancellationToken cancellationToken)
    {
        if (request.Role is null || !AssignableRoles.Contains(request.Role))
        {
            return Outcome<ProfileView>.Invalid(new Dictionary<string, string[]> { ["role"] = [$"Choose one of: {string.Join(", ", AssignableRoles)}."] });
        }

        var now = time.GetUtcNow();
        UserAccount current;
        UserAccount updated;
        IReadOnlyList<Guid> ended = [];
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // Locked, so of two admins changing the role at once, the second sees the first's role (and whether it removed streamer).
            if (await AccountStore.LockByIdAsync(transaction, userId, cancellationToken) is not { } locked)
            {
                return Problems.UserNotFound();
            }
            current = locked;
            if (current.Role == Roles.Admin)
            {
                return Problems.RoleNotAssignable(current.Role);
            }
            updated = (await AccountStore.SetRoleAsync(transaction, userId, request.Role, now, cancellationToken))!;
            if (current.Role == Roles.Streamer && updated.Role != Roles.Streamer)
            {
                ended = await sessions.RevokeAllAsync(transaction, userId, RoleRemoved, now, cancellationToken);
            }
            // With the role, or not at all: Pools takes a demoted streamer's channels from it (and Realtime their chat
            // powers). A repeat that changes nothing publishes nothing; the first change's event is already on its way.
            if (updated.Role != current.Role)
            {
                await outbox.AddAsync(transaction, new UserRoleChanged(userId, updated.Role, current.Role, now), cancellationToken);
            }
            // Not cancellationToken from here on: what commits is announced, whether or not the admin waits for the answer.
            await transaction.CommitAsync(CancellationToken.None);
        }

        // Roles open the streamer's pool controls: who granted one is an operator's question.
        LogRoleChanged(logger, adminId, userId, current.Role, updated.Role);
        if (current.Role == Roles.Streamer && updated.Role != Roles.Streamer)
        {
            await authenticator.AnnounceSessionsEndedAsync(userId, adminId, RoleRemoved, ended);
        }
        else if (updated.Role != Roles.Streamer
            && await sessions.RecentlyRevokedAsync(userId, RoleRemoved, now, CancellationToken.None) is { Count: > 0 } endedBefore)
        {
            await authenticator.AnnounceSessionsEndedAsync(userId, adminId, RoleRemoved, endedBefore);
        }
        return ProfileView.From(updated);
    }

    private const string RoleRemoved = "role-removed";

    [LoggerMessage(EventId = 2101, EventName = "RoleChanged", Level = LogLevel.Information, Message = "Admin {AdminId} changed user {UserId}'s role from {OldRole} to {NewRole}")]
    private static partial void LogRoleChanged(ILogger logger, Guid adminId, Guid userId, string oldRole, string newRole);
}
