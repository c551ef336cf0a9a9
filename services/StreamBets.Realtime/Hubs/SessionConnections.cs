using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// The signed-in connections of this replica by login session (<c>sid</c>), so a logout ends them at once: the token
/// is checked only when a connection starts, and a WebSocket can outlive the session by the token's whole lifetime.
/// A revoked session's connections are aborted; a client that reconnects with the same token is anonymous.
/// </summary>
public sealed class SessionConnections : IDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, HubCallerContext>> _bySession = new(StringComparer.Ordinal);
    private readonly SessionRevocation _revocation;

    public SessionConnections(SessionRevocation revocation)
    {
        _revocation = revocation;
        _revocation.SessionRevoked += AbortAll;
    }

    public void Add(string sessionId, HubCallerContext connection)
    {
        _bySession.GetOrAdd(sessionId, _ => new(StringComparer.Ordinal))[connection.ConnectionId] = connection;
        // Revoked between the token check and this line: no announcement will come again.
        if (_revocation.IsRevoked(sessionId))
        {
            AbortAll(sessionId);
        }
    }

    public void Remove(string sessionId, string connectionId)
    {
        if (_bySession.TryGetValue(sessionId, out var connections) && connections.TryRemove(connectionId, out _) && connections.IsEmpty)
        {
            _bySession.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, HubCallerContext>>(sessionId, connections));
        }
    }

    public void Dispose() => _revocation.SessionRevoked -= AbortAll;

    private void AbortAll(string sessionId)
    {
        if (_bySession.TryGetValue(sessionId, out var connections))
        {
            foreach (var connection in connections.Values)
            {
                connection.Abort();
            }
        }
    }
}
