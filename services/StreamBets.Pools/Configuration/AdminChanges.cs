using System.Security.Claims;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace StreamBets.Pools.Configuration;

public sealed record AdminChange(long Id, DateTimeOffset ChangedAt, Guid AdminId, string AdminName, string Action, string Subject, JsonElement Details);

public sealed record AdminChangePage(IReadOnlyList<AdminChange> Items, string? NextCursor);

/// <summary>
/// The history of admins' changes to the configuration, templates and channel links in poolsdb, newest first. A change
/// to the configuration or a template is recorded after it (the documents may live in MongoDB, so one transaction cannot
/// hold both): when the record fails, the admin is answered an error, and their retry of the same PUT or DELETE finds
/// the change made but not recorded (<see cref="LastAsync"/>) and records it. A channel link lives in poolsdb, so it
/// commits together with its record, as does an admin's lock, resolve or cancel of a pool.
/// </summary>
public sealed class AdminChanges(NpgsqlDataSource db, TimeProvider time)
{
    public const string ConfigChanged = "config-changed";
    public const string TemplateSaved = "template-saved";
    public const string TemplateDeleted = "template-deleted";
    public const string ChannelLinked = "channel-linked";
    public const string ChannelUnlinked = "channel-unlinked";
    public const string PoolLocked = "pool-locked";
    public const string PoolResolved = "pool-resolved";
    public const string PoolCancelled = "pool-cancelled";
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    public async Task RecordAsync(ClaimsPrincipal admin, string action, string subject, object details, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await RecordAsync(connection, null, admin.GetUserId(), NameOf(admin), action, subject, details, cancellationToken);
    }

    /// <summary>Records a change to poolsdb itself in the change's own transaction, so both commit or neither does.</summary>
    public Task RecordAsync(NpgsqlTransaction transaction, ClaimsPrincipal admin, string action, string subject, object details, CancellationToken cancellationToken) =>
        RecordAsync(transaction, admin.GetUserId(), NameOf(admin), action, subject, details, cancellationToken);

    /// <inheritdoc cref="RecordAsync(NpgsqlTransaction, ClaimsPrincipal, string, string, object, CancellationToken)"/>
    public Task RecordAsync(NpgsqlTransaction transaction, Guid adminId, string adminName, string action, string subject, object details, CancellationToken cancellationToken) =>
        RecordAsync(transaction.Connection!, transaction, adminId, adminName, action, subject, details, cancellationToken);

    public static string NameOf(ClaimsPrincipal admin) => admin.FindFirstValue(AuthenticationDefaults.Claims.DisplayName) ?? "";

    private async Task RecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid adminId, string adminName, string action, string subject, object details,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO admin_changes (changed_at, admin_id, admin_name, action, subject, details) VALUES ($1, $2, $3, $4, $5, $6)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = adminId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = adminName });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = action });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = subject });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(details, DocumentJson), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The subject's newest change among <paramref name="actions"/>, or null when none is recorded.</summary>
    public async Task<AdminChange?> LastAsync(string subject, string[] actions, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM admin_changes WHERE subject = $1 AND action = ANY($2) ORDER BY id DESC LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = subject });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = actions });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>True when <paramref name="change"/> is <paramref name="action"/> with these details, as they are recorded.</summary>
    public static bool Is(AdminChange? change, string action, object details) =>
        change is not null && change.Action == action && JsonElement.DeepEquals(change.Details, JsonSerializer.SerializeToElement(details, DocumentJson));

    /// <summary>A page of changes older than the cursor (the last id of the previous page), newest first.</summary>
    public async Task<AdminChangePage> ListAsync(long? before, int limit, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            $"SELECT {Columns} FROM admin_changes WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = before, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit + 1 });
        var changes = new List<AdminChange>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changes.Add(Read(reader));
        }
        var more = changes.Count > limit;
        return more
            ? new AdminChangePage(changes[..limit], SequenceCursor.Format(changes[limit - 1].Id))
            : new AdminChangePage(changes, null);
    }

    private const string Columns = "id, changed_at, admin_id, admin_name, action, subject, details::text";

    private static AdminChange Read(NpgsqlDataReader reader)
    {
        using var details = JsonDocument.Parse(reader.GetString(6));
        return new AdminChange(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetGuid(2), reader.GetString(3),
            reader.GetString(4), reader.GetString(5), details.RootElement.Clone());
    }

    private static readonly JsonSerializerOptions DocumentJson = new(JsonSerializerDefaults.Web);
}
