using System.Collections.Concurrent;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.IntegrationEvents.EventHandling;

/// <summary>Adds settled bets' net results (payout - stake) to their players' leaderboard scores, globally and on the pool's channel.</summary>
public sealed partial class BetsSettledHandler(PoolChannels channels, Leaderboards.Leaderboards leaderboards, ILogger<BetsSettledHandler> logger)
    : IIntegrationEventHandler<BetsSettled>
{
    public async Task HandleAsync(BetsSettled @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        var channel = await channels.FindAsync(context.Transaction, @event.PoolId, cancellationToken);
        if (channel is null)
        {
            LogUnknownPool(logger, @event.Bets.Count, @event.PoolId);
            return;
        }

        await leaderboards.RecordAsync(context.Transaction, channel, @event.Bets.Select(b => (b.UserId, b.PayoutMinor - b.StakeMinor)), @event.SettledAt, cancellationToken);
    }

    [LoggerMessage(EventId = 4002, EventName = "SettledBetsOfUnknownPool", Level = LogLevel.Warning,
        Message = "BetsSettled with {Count} bets is for pool {PoolId}, which this service does not have; ignored")]
    private static partial void LogUnknownPool(ILogger logger, int count, Guid poolId);
}
/// <summary>The channel of a pool, which never changes, remembered so a million settled bets make a handful of queries.</summary>
public sealed class PoolChannels
{
    private const int MaxRemembered = 10_000;
    private readonly ConcurrentDictionary<Guid, Channel> _known = new();

    public async Task<Channel?> FindAsync(NpgsqlTransaction transaction, Guid poolId, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue(poolId, out var known))
        {
            return known;
        }

        await using var command = new NpgsqlCommand("SELECT channel_provider, channel_id FROM pools WHERE id = $1", transaction.Connection, transaction);
        command.Parameters.AddWithValue(poolId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        if (_known.Count >= MaxRemembered)
        {
            _known.Clear();
        }

        return _known[poolId] = new Channel(reader.GetString(0), reader.GetString(1));
    }
}
