using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>The network a request comes from, as <see cref="ClientNetworks"/> judges it.</summary>
/// <param name="Key">The rate limiter's client key for an anonymous request; relayed to the services as <see cref="ClientNetworks.Header"/>.</param>
/// <param name="IsFrontEnd">A vouching front end's own network, for a call that names no browser: it has the front ends' budget.</param>
public readonly record struct ClientNetwork(string Key, bool IsFrontEnd);

/// <summary>
/// Whose network a request comes from: the remote address, or the browser's when a front end vouches for it
/// (<see cref="FrontEndVouching"/>), since the front ends' own address is every player's. An IPv6 address counts by its
/// /64, the block one host or home is given. The rate limiter counts anonymous requests by it, and Users counts failed
/// sign-ins by it (<see cref="Header"/>), so both judge a client the same way.
/// </summary>
public sealed class ClientNetworks(IConfiguration configuration)
{
    /// <summary>
    /// Set on every relayed request, replacing any copy the client sent; Users reads it as a sign-in's source
    /// (StreamBets.Users LoginSource.Header, the same name: the services share no gateway code).
    /// </summary>
    public const string Header = "X-StreamBets-Client-Network";

    private readonly byte[]? _frontEndKey = configuration[FrontEndVouching.KeySetting] is { Length: > 0 } key ? Encoding.UTF8.GetBytes(key) : null;

    public ClientNetwork Of(HttpRequest request)
    {
        var remote = request.HttpContext.Connection.RemoteIpAddress;
        if (!IsVouchingFrontEnd(request))
        {
            return new(AddressKey(remote), IsFrontEnd: false);
        }
        // The browser's address, which the front end saw on the request it serves (a sign-in form, say); without one (a
        // token refresh from a live page) the front end's own.
        return IPAddress.TryParse(request.Headers[FrontEndVouching.ClientAddressHeader], out var browser)
            ? new(AddressKey(browser), IsFrontEnd: false)
            : new($"front-end:{remote}", IsFrontEnd: true);
    }

    /// <summary>
    /// An IPv6 host usually holds a whole /64 and can take a fresh address in it for each request: counted by address,
    /// it would have a budget per address. IPv4 (mapped into IPv6 too) stays one address, one client.
    /// </summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is not { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } || address.IsIPv4MappedToIPv6)
        {
            return $"ip:{address}";
        }
        Span<byte> network = stackalloc byte[16];
        address.TryWriteBytes(network, out _);
        network[8..].Clear();
        return $"ip:{new IPAddress(network)}/64";
    }

    private bool IsVouchingFrontEnd(HttpRequest request) =>
        _frontEndKey is not null && request.Headers[FrontEndVouching.KeyHeader] is [{ } presented]
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _frontEndKey);
}
