using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Apis;

public sealed record LinkChannelRequest(Guid? OwnerId);

/// <summary>A channel's link; <c>previousOwnerId</c> only in the answer to a link that moved the channel from that account.</summary>
public sealed record ChannelLinkView(ChannelView Channel, Guid OwnerId, Guid LinkedBy, DateTimeOffset LinkedAt, Guid? PreviousOwnerId = null)
{
    public static ChannelLinkView Of(ChannelLink link, Guid? previousOwnerId = null) =>
        new(new ChannelView(link.Channel.Provider, link.Channel.ChannelId), link.OwnerId, link.LinkedBy, link.LinkedAt,
            previousOwnerId == link.OwnerId ? null : previousOwnerId);
}

/// <summary>
/// Which streamer owns which channel: admins link and unlink channels (/api/pools/admin/channels), a streamer reads
/// their own (/api/pools/channels/mine). A streamer opens pools only on their linked channels (docs/pools.md).
/// Links and unlinks are kept in <see cref="AdminChanges"/> (in the same transaction) and logged, as the other admin changes.
/// </summary>
public static partial class ChannelLinksApi
{
    public static IEndpointRouteBuilder MapChannelLinksApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/pools/admin/channels").WithTags("Pools administration").RequireAuthorization(AuthenticationDefaults.Policies.Admin);
        admin.MapGet("", ListLinks).WithName("ListChannelLinks");
        admin.MapGet("/{provider}/{channelId}", GetLink).WithName("GetChannelLink");
        admin.MapPut("/{provider}/{channelId}", Link).WithName("LinkChannel");
        admin.MapDelete("/{provider}/{channelId}", Unlink).WithName("UnlinkChannel");

        app.MapGet("/api/pools/channels/mine", MyChannels).WithTags("Pools")
            .RequireAuthorization(AuthenticationDefaults.Policies.Streamer).WithName("GetMyChannels");
        return app;
    }

    /// <summary>The channels linked to one account, by name.</summary>
    public static async Task<Results<Ok<ChannelLinkView[]>, ValidationProblem>> ListLinks(string? ownerId, ChannelOwners owners, CancellationToken cancellationToken)
    {
        // Parsed here, not bound as a Guid: a bad id must be a problem naming the field, not the framework's bare 400.
        if (!Guid.TryParse(ownerId, out var owner))
        {
            return PoolProblems.Invalid(new Dictionary<string, string[]> { ["ownerId"] = ["The owner's user id (a UUID) is required."] });
        }
        return TypedResults.Ok((await owners.OfOwnerAsync(owner, cancellationToken)).Select(link => ChannelLinkView.Of(link)).ToArray());
    }

    /// <summary>
    /// The channel's link, so an operator about to link it sees whose it is first (a link moves it with its open pools).
    /// A read as of now: the PUT still moves whatever owner it finds then, and names them in its answer.
    /// </summary>
    public static async Task<Results<Ok<ChannelLinkView>, ProblemHttpResult, ValidationProblem>> GetLink(
        string provider, string channelId, ChannelOwners owners, CancellationToken cancellationToken)
    {
        var channel = ChannelOf(provider, channelId);
        var errors = channel.Problems();
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }
        var link = await owners.LinkOfAsync(channel, cancellationToken);
        return link is null ? NotLinked(channel) : TypedResults.Ok(ChannelLinkView.Of(link));
    }

    public static async Task<Ok<ChannelLinkView[]>> MyChannels(ClaimsPrincipal user, ChannelOwners owners, CancellationToken cancellationToken) =>
        TypedResults.Ok((await owners.OfOwnerAsync(user.GetUserId(), cancellationToken)).Select(link => ChannelLinkView.Of(link)).ToArray());

    /// <summary>Links the channel to the account; a channel linked to someone else moves to this account, and the answer names them.</summary>
    public static async Task<Results<Ok<ChannelLinkView>, ValidationProblem>> Link(
        string provider, string channelId, LinkChannelRequest request, ClaimsPrincipal user, ChannelOwners owners, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var channel = ChannelOf(provider, channelId);
        var errors = channel.Problems();
        if (request.OwnerId is null || request.OwnerId == Guid.Empty)
        {
            errors["ownerId"] = ["The owner's user id is required."];
        }
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }

        var (link, previous) = await owners.LinkAsync(channel, request.OwnerId!.Value, user, cancellationToken);
        LogLinked(loggers.CreateLogger(PoolsAdminApi.AuditCategory), user.GetUserId(), channel.ToString(), link.OwnerId, previous);
        return TypedResults.Ok(ChannelLinkView.Of(link, previous));
    }

    /// <summary>
    /// The account <paramref name="ownerId"/> names loses the channel: it opens no new pools there; its open pools stay
    /// its own to resolve. The admin names the owner they saw, so a channel that moved to someone else meanwhile is not
    /// taken from its new owner (409 channel-owner-changed).
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> Unlink(
        string provider, string channelId, string? ownerId, ClaimsPrincipal user, ChannelOwners owners, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var channel = ChannelOf(provider, channelId);
        var errors = channel.Problems();
        // Parsed here, not bound as a Guid: a bad id must be a problem naming the field, not the framework's bare 400.
        if (!Guid.TryParse(ownerId, out var expectedOwner))
        {
            errors["ownerId"] = ["The user id (a UUID) of the owner the channel is taken from is required."];
        }
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }
        var owner = await owners.UnlinkAsync(channel, expectedOwner, user, cancellationToken);
        if (owner is null)
        {
            return NotLinked(channel);
        }
        if (owner != expectedOwner)
        {
            return PoolProblems.Problem(PoolProblems.ChannelOwnerChanged,
                $"Channel {channel} is linked to account {owner} now, not to {expectedOwner}; nothing was unlinked.");
        }

        LogUnlinked(loggers.CreateLogger(PoolsAdminApi.AuditCategory), user.GetUserId(), channel.ToString(), expectedOwner);
        return TypedResults.NoContent();
    }

    /// <summary>The channel a route names, whatever the case of its provider.</summary>
    private static Channel ChannelOf(string provider, string channelId) => new(provider.ToLowerInvariant(), channelId);

    private static ProblemHttpResult NotLinked(Channel channel) =>
        PoolProblems.Problem(PoolProblems.ChannelNotLinked, $"Channel {channel} is not linked to anyone.");

    [LoggerMessage(EventId = 6004, EventName = "ChannelLinked", Level = LogLevel.Information,
        Message = "Admin {AdminId} linked channel {Channel} to {OwnerId} (before: {PreviousOwnerId})")]
    private static partial void LogLinked(ILogger logger, Guid adminId, string channel, Guid ownerId, Guid? previousOwnerId);

    [LoggerMessage(EventId = 6005, EventName = "ChannelUnlinked", Level = LogLevel.Information, Message = "Admin {AdminId} unlinked channel {Channel} from {OwnerId}")]
    private static partial void LogUnlinked(ILogger logger, Guid adminId, string channel, Guid ownerId);
}
