using System.Text.Json;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// Reads the hub's arguments. Every hub parameter is a <see cref="JsonElement"/> because any JSON value binds to it:
/// SignalR answers an argument it cannot bind (a GUID that is not one, 1.5 for a long, a number for a string) itself,
/// with an uncoded "error on the server", before the hub and <see cref="RefusalsAsHubExceptions"/> run. Read here, a
/// malformed argument is null, and the hub refuses it with a code.
/// </summary>
public static class HubArguments
{
    public static string? Text(JsonElement argument) => argument.ValueKind == JsonValueKind.String ? argument.GetString() : null;

    public static Guid? Id(JsonElement argument) => Guid.TryParse(Text(argument), out var id) ? id : null;

    /// <summary>An integer written as one (1.5, 1e3 and "3" are not), within a long.</summary>
    public static long? WholeNumber(JsonElement argument) =>
        argument.ValueKind == JsonValueKind.Number && argument.TryGetInt64(out var number) ? number : null;
}
