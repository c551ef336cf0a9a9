using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using StreamBets.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>The console on a test server in Development, with the machine's Redis: one per test class that asks for it.</summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var redis = (await TestServers.RedisAsync()).ConnectionString;
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.UseSetting("ConnectionStrings:redis", redis));
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}
