using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace StreamBets.Realtime.Tests;

/// <summary>Players reach the hub through the gateway: the YARP route /hubs/** must carry the WebSocket upgrade and the access_token query.</summary>
[Collection(StackCollection.Name)]
public sealed class GatewayTests(RealtimeStack stack)
{
    [Fact]
    public async Task The_hub_works_through_the_gateway_over_WebSockets_with_the_token_in_the_query()
    {
        var userId = Guid.NewGuid();
        var channel = TestEvents.NewChannel();
        await using var client = await LiveClient.ConnectAsync(stack.Gateway, RealtimeStack.Token(userId, displayName: "Via Gateway"));
        await using var anonymous = await LiveClient.ConnectAsync(stack.Gateway, token: null);
        await anonymous.InvokeAsync("WatchChannel", channel);

        await stack.Bus.PublishAsync(TestEvents.Wallet(userId, 12_345));
        var sent = await client.InvokeAsync<JsonElement>("SendChat", channel, "through the gateway");

        Assert.Equal(12_345, (await client.WaitForAsync("WalletChanged")).Number("balanceMinor"));
        Assert.Equal("Via Gateway", sent.Text("displayName"));
        Assert.Equal(sent.Text("id"), (await anonymous.WaitForAsync("ChatMessage")).Text("id"));
    }

    [Fact]
    public async Task The_hub_works_through_the_gateway_as_one_websocket_request_with_the_token_in_the_authorization_header()
    {
        // As the web app connects: no negotiate, which the gateway could send to another replica than the WebSocket.
        var token = RealtimeStack.Token(Guid.NewGuid(), displayName: "No Negotiate");
        await using var connection = new HubConnectionBuilder()
            .WithUrl($"{stack.Gateway}/hubs/live", options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .Build();

        await connection.StartAsync();
        var sent = await connection.InvokeAsync<JsonElement>("SendChat", TestEvents.NewChannel(), "one request");

        Assert.Equal("No Negotiate", sent.Text("displayName")); // signed in: anonymous connections cannot chat
    }
}
