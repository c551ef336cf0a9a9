using Npgsql;

namespace StreamBets.Testing;

/// <summary>What PostgreSQL plans for a statement, for tests that hot statements stay index probes on big tables.</summary>
public static class QueryPlans
{
    /// <summary>The EXPLAIN output of <paramref name="sql"/> with these values for $1, $2, ..., one plan line per line.</summary>
    /// <param name="parameters">Written as a list, <c>[codes]</c>: an array passed alone would be taken for the list itself.</param>
    public static async Task<string> ExplainAsync(NpgsqlDataSource database, string sql, IReadOnlyList<object> parameters)
    {
        await using var explain = database.CreateCommand("EXPLAIN " + sql);
        foreach (var value in parameters)
        {
            explain.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        var plan = new List<string>();
        await using var reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetString(0));
        }
        return string.Join('\n', plan);
    }
}
