using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// The signed-in connections of this replica with their login session (<c>sid</c>), so a logout ends them at once:
/// the token is checked only when a connection starts, and a WebSocket can outlive the session by the token's whole
/// lifetime. A revoked session's connections are aborted; a client that reconnects with the same token is refused (<see cref="RejectedTokens"/>).
/// One flat map: revocations are rare, so scanning it on one is cheaper than keeping a per-session index consistent.
/// </summary>
public sealed class SessionConnections : IDisposable
{
    private readonly ConcurrentDictionary<string, (string SessionId, HubCallerContext Connection)> _connections = new(StringComparer.Ordinal);
    private readonly SessionRevocation _revocation;

    public SessionConnections(SessionRevocation revocation)
    {
        _revocation = revocation;
        _revocation.SessionRevoked += AbortAll;
    }

    public void Add(string sessionId, HubCallerContext connection)
    {
        _connections[connection.ConnectionId] = (sessionId, connection);
        // Revoked between the token check and this line: no announcement will come again.
        if (_revocation.IsRevoked(sessionId))
        {
            connection.Abort();
        }
    }

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    public void Dispose() => _revocation.SessionRevoked -= AbortAll;

    private void AbortAll(string sessionId)
    {
        foreach (var (_, (session, connection)) in _connections)
        {
            if (session == sessionId)
            {
                connection.Abort();
            }
        }
    }
}
