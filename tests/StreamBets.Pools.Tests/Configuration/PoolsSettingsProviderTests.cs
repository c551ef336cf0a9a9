using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Documents;

namespace StreamBets.Pools.Tests.Configuration;

/// <summary>What a replica's cached configuration holds while the store is read, written or holds a broken document.</summary>
public sealed class PoolsSettingsProviderTests
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly OneDocumentStore _store = new();

    private PoolsSettingsProvider NewReplica() => new(_store, _clock, NullLogger<PoolsSettingsProvider>.Instance);

    [Fact]
    public async Task A_write_made_while_the_cache_is_refreshed_is_not_overwritten_by_the_older_value_read()
    {
        _store.Json = JsonSerializer.Serialize(new PoolsSettings { DefaultRakeBasisPoints = 250 }, DocumentStore.Json);
        var replica = NewReplica();
        var reading = _store.HoldNextRead();
        var refresh = replica.GetAsync(CancellationToken.None); // reads rake 250, then waits

        await reading.Read;
        Assert.True(await replica.TryPutAsync(new PoolsSettings { DefaultRakeBasisPoints = 400 }, _store.Version, CancellationToken.None));
        reading.Release();
        await refresh;

        Assert.Equal(400, (await replica.GetAsync(CancellationToken.None)).DefaultRakeBasisPoints);
    }

    [Fact]
    public async Task A_replica_with_no_valid_settings_refuses_rather_than_run_on_defaults_when_the_stored_configuration_is_invalid()
    {
        _store.Json = """{"defaultRakeBasisPoints": 6000, "defaultMinStakeMinor": 100, "defaultMaxStakeMinor": 100000, "oneActivePoolPerChannel": true, "autoCancelAfterHours": 24}""";

        await Assert.ThrowsAsync<PoolsSettingsUnavailableException>(() => NewReplica().GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_pool_asked_of_a_replica_with_no_valid_settings_is_refused_as_unavailable_not_as_an_error()
    {
        _store.Json = "\"not a configuration\"";
        // Creation stops at the settings: nothing after them is reached, so no database stands behind these commands.
        var commands = new StreamBets.Pools.Management.PoolCommands(null!, null!, null!, NewReplica(), _store, null!, null!, _clock,
            NullLogger<StreamBets.Pools.Management.PoolCommands>.Instance);

        var result = await commands.CreateAsync(new(new("twitch", "somechannel"), null, "Who wins?", ["Blue", "Red"], 60, null, null),
            new(Guid.NewGuid(), IsAdmin: true), idempotencyKey: null, CancellationToken.None);

        Assert.Equal(StreamBets.Pools.Management.ManagementErrors.SettingsUnavailable, result.Error?.Code);
        Assert.Equal(503, StreamBets.Pools.Apis.PoolProblems.Problem(result.Error!).StatusCode);
    }

    [Fact]
    public async Task A_replica_with_no_valid_settings_refuses_rather_than_run_on_defaults_when_the_stored_configuration_is_unreadable()
    {
        _store.Json = "\"not a configuration\"";

        await Assert.ThrowsAsync<PoolsSettingsUnavailableException>(() => NewReplica().GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_replica_with_no_valid_settings_asks_the_store_again_only_after_the_cache_time_not_on_every_call()
    {
        _store.Json = "\"not a configuration\"";
        var replica = NewReplica();

        for (var call = 0; call < 5; call++)
        {
            await Assert.ThrowsAsync<PoolsSettingsUnavailableException>(() => replica.GetAsync(CancellationToken.None));
        }
        Assert.Equal(1, _store.Reads);

        _store.Json = JsonSerializer.Serialize(new PoolsSettings { DefaultRakeBasisPoints = 300 }, DocumentStore.Json);
        _clock.Advance(PoolsSettingsProvider.CacheFor);

        Assert.Equal(300, (await replica.GetAsync(CancellationToken.None)).DefaultRakeBasisPoints);
        Assert.Equal(2, _store.Reads);
    }

    [Fact]
    public async Task A_configuration_written_through_the_replica_ends_its_refusal_at_once()
    {
        _store.Json = "\"not a configuration\"";
        var replica = NewReplica();
        await Assert.ThrowsAsync<PoolsSettingsUnavailableException>(() => replica.GetAsync(CancellationToken.None));

        Assert.True(await replica.TryPutAsync(new PoolsSettings { DefaultRakeBasisPoints = 300 }, _store.Version, CancellationToken.None));

        Assert.Equal(300, (await replica.GetAsync(CancellationToken.None)).DefaultRakeBasisPoints);
    }

    [Fact]
    public async Task A_stored_json_null_is_refused_and_logged_as_an_error()
    {
        _store.Json = "null";
        var logger = new ErrorCount();
        var replica = new PoolsSettingsProvider(_store, _clock, logger);

        var stored = await replica.ReadAsync(CancellationToken.None);

        Assert.False(stored.IsValid);
        Assert.Equal(1, logger.Errors);
    }

    [Fact]
    public async Task A_stored_auto_cancel_term_too_large_for_a_time_span_keeps_the_last_valid_settings()
    {
        _store.Json = JsonSerializer.Serialize(new PoolsSettings { DefaultRakeBasisPoints = 250 }, DocumentStore.Json);
        var replica = NewReplica();
        await replica.GetAsync(CancellationToken.None);
        _store.Json = $$"""{"defaultRakeBasisPoints": 400, "defaultMinStakeMinor": 100, "defaultMaxStakeMinor": 100000, "oneActivePoolPerChannel": true, "autoCancelAfterHours": {{int.MaxValue}}}""";
        _clock.Advance(PoolsSettingsProvider.CacheFor);

        Assert.Equal(250, (await replica.GetAsync(CancellationToken.None)).DefaultRakeBasisPoints);
    }

    [Fact]
    public void An_auto_cancel_term_too_large_for_a_time_span_is_a_broken_rule_not_an_exception()
    {
        var problems = new PoolsSettings { AutoCancelAfterHours = int.MaxValue }.Problems();

        Assert.Equal(["autoCancelAfterHours"], problems.Keys);
    }

    /// <summary>The pools configuration document alone, with a read that can be held after it has read.</summary>
    private sealed class OneDocumentStore : IDocumentStore
    {
        private HeldRead? _hold;
        private long _version = 1;

        public string? Json { get; set; }
        public int Reads { get; private set; }
        public string Version => _version.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public HeldRead HoldNextRead() => _hold = new HeldRead();

        public async Task<VersionedDocument<T>?> GetVersionedAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
        {
            Reads++;
            var read = Json is null ? null : new VersionedDocument<T>(JsonSerializer.Deserialize<T>(Json, DocumentStore.Json)!, Version);
            if (Interlocked.Exchange(ref _hold, null) is { } hold)
            {
                await hold.WaitAsync();
            }
            return read;
        }

        public async Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class =>
            (await GetVersionedAsync<T>(collection, id, cancellationToken))?.Document;

        public Task<bool> TryPutAsync<T>(string collection, string id, T document, string? expectedVersion, CancellationToken cancellationToken = default) where T : class
        {
            if (expectedVersion != (Json is null ? null : Version))
            {
                return Task.FromResult(false);
            }
            Json = JsonSerializer.Serialize(document, DocumentStore.Json);
            _version++;
            return Task.FromResult(true);
        }

        public Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();
        public Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<bool> TryDeleteAsync(string collection, string id, string expectedVersion, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<StoredDocument<T>>> ListAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();
    }

    private sealed class ErrorCount : ILogger<PoolsSettingsProvider>
    {
        public int Errors { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Error)
            {
                Errors++;
            }
        }
    }

    private sealed class HeldRead
    {
        private readonly TaskCompletionSource _read = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once the held read has read the document.</summary>
        public Task Read => _read.Task;

        public void Release() => _released.SetResult();

        public Task WaitAsync()
        {
            _read.SetResult();
            return _released.Task;
        }
    }
}
