using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace StreamBets.Testing;

/// <summary>ClickHouse 18.16 from the machine's packages, reached over its HTTP interface.</summary>
public sealed class ClickHouseServer : LocalServer
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private readonly int _tcpPort;

    public ClickHouseServer() : base("clickhouse")
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        _tcpPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    protected override ProcessStartInfo StartInfo() => new("bash",
    [
        ScriptPath("clickhouse.sh"), DataDirectory,
        Port.ToString(CultureInfo.InvariantCulture), _tcpPort.ToString(CultureInfo.InvariantCulture),
    ]);

    protected override async Task<bool> AnswersAsync()
    {
        try
        {
            return (await Http.GetStringAsync($"{BaseUrl}/ping")).StartsWith("Ok", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // Refused before it listens, or too busy starting to answer within the client's timeout.
            return false;
        }
    }
}
