using System.Collections.Concurrent;
using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Tests;

/// <summary>
/// A self-exclusion is published as PlayerSelfExcluded in the transaction that stores it, so the Bet Engine can drop the
/// player's cached eligibility at once: an exclusion is stored exactly when its event is, and a request that changes
/// nothing publishes nothing.
/// </summary>
public sealed class SelfExclusionEventTests(SelfExclusionEventTests.App app) : IClassFixture<SelfExclusionEventTests.App>
{
    [Fact]
    public async Task Self_excluding_writes_PlayerSelfExcluded_with_the_exclusion_and_the_relay_publishes_it()
    {
        var player = await app.NewPlayerAsync();

        var exclusion = await ExcludeAsync(player, "12-months");

        Assert.Equal(HttpStatusCode.OK, exclusion.StatusCode);
        var view = (await exclusion.Content.ReadFromJsonAsync<SelfExclusionView>())!;
        Assert.Equal(new PlayerSelfExcluded(player.Id, "12-months", view.StartedAt, view.EndsAt), Assert.Single(app.Outbox.SelfExclusionsOf(player.Id)));
        Assert.Equal("streambets.users.player-self-excluded.v1", (await app.PublishedEventTypesAsync(player.Id, atLeast: 3))[^1]);
    }

    [Fact]
    public async Task An_exclusion_whose_event_cannot_be_written_is_not_stored()
    {
        var player = await app.NewPlayerAsync();
        app.Outbox.FailSelfExclusionsOf(player.Id);

        var exclusion = await ExcludeAsync(player, "6-months");

        Assert.Equal(HttpStatusCode.InternalServerError, exclusion.StatusCode);
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM rg_self_exclusions WHERE user_id = $1", player.Id));
    }

    [Fact]
    public async Task A_refused_request_or_one_that_leaves_the_exclusion_unchanged_writes_no_event()
    {
        var player = await app.NewPlayerAsync();

        Assert.Equal(HttpStatusCode.BadRequest, (await ExcludeAsync(player, "1-week")).StatusCode);
        Assert.Empty(app.Outbox.SelfExclusionsOf(player.Id));

        Assert.Equal(HttpStatusCode.OK, (await ExcludeAsync(player, "12-months")).StatusCode);
        // An exclusion is never shortened: this one stays 12 months, and the Bet Engine already knows of it.
        Assert.Equal(HttpStatusCode.OK, (await ExcludeAsync(player, "6-months")).StatusCode);
        Assert.Equal("12-months", Assert.Single(app.Outbox.SelfExclusionsOf(player.Id)).Period);
    }

    private static Task<HttpResponseMessage> ExcludeAsync(TestPlayer player, string period) =>
        player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period });

    public sealed class App : AccountsTestApp
    {
        public WatchedOutbox Outbox { get; private set; } = null!;

        protected override void ConfigureServices(IServiceCollection services)
        {
            var real = services.Last(service => service.ServiceType == typeof(IOutbox));
            services.AddSingleton<IOutbox>(provider =>
                Outbox = new WatchedOutbox((IOutbox)ActivatorUtilities.CreateInstance(provider, real.ImplementationType!)));
        }
    }

    /// <summary>The real outbox, noting the self-exclusions handed to it whose write succeeded; it can fail a player's instead.</summary>
    public sealed class WatchedOutbox(IOutbox inner) : IOutbox
    {
        private readonly ConcurrentQueue<PlayerSelfExcluded> _written = new();
        private readonly ConcurrentDictionary<Guid, bool> _failing = new();

        public IReadOnlyList<PlayerSelfExcluded> SelfExclusionsOf(Guid userId) => [.. _written.Where(e => e.UserId == userId)];

        public void FailSelfExclusionsOf(Guid userId) => _failing[userId] = true;

        public Task AddAsync(DbTransaction transaction, IIntegrationEvent @event, CancellationToken cancellationToken = default) =>
            AddRangeAsync(transaction, [@event], cancellationToken);

        public async Task AddRangeAsync(DbTransaction transaction, IReadOnlyCollection<IIntegrationEvent> events, CancellationToken cancellationToken = default)
        {
            var exclusions = events.OfType<PlayerSelfExcluded>().ToList();
            if (exclusions.Any(e => _failing.ContainsKey(e.UserId)))
            {
                throw new InvalidOperationException("The outbox write failed (test).");
            }
            await inner.AddRangeAsync(transaction, events, cancellationToken);
            exclusions.ForEach(_written.Enqueue);
        }

        public IReadOnlyList<NpgsqlBatchCommand> CommandsFor(IReadOnlyCollection<IIntegrationEvent> events) => inner.CommandsFor(events);
    }
}
