using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace StreamBets.FrontEnd.Gateway;

/// <summary>
/// Where a front end's server reaches Realtime's live hub: the gateway's <c>/hubs/live</c> (docs/realtime.md). A hub
/// connection does not go through HttpClientFactory's service discovery, so the gateway's address is read as Aspire hands
/// a referenced service's (<c>services:gateway:{endpoint}:0</c>), https first as the REST client's <c>https+http://gateway</c>
/// (deployed, the gateway redirects plain http); <c>Gateway:Url</c> overrides it. Its <see cref="FrontEndKey"/> goes
/// with the connection as <see cref="FrontEndVouchingHandler"/> sends it with every REST call.
/// </summary>
public sealed class LiveHubAddress(IConfiguration configuration)
{
    public const string HubPath = "/hubs/live";

    public Uri GatewayUri { get; } = new(configuration["Gateway:Url"]
        ?? configuration["services:gateway:https:0"]
        ?? configuration["services:gateway:http:0"]
        ?? "http://localhost:5100");

    public Uri HubUri => new(GatewayUri, HubPath);

    public string? FrontEndKey { get; } = configuration[FrontEndVouching.KeySetting] is { Length: > 0 } key ? key : null;

    /// <summary>
    /// Realtime answered a connection attempt 401. The WebSocket client says so only in its message (it has no status code
    /// to read, and negotiate, which would fail with one, is skipped); an HttpRequestException carries it as a status.
    /// </summary>
    public static bool IsTokenRefused(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is HttpRequestException { StatusCode: HttpStatusCode.Unauthorized }
                || error is WebSocketException { WebSocketErrorCode: WebSocketError.NotAWebSocket } && error.Message.Contains("'401'", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }
}
