using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>The network a request comes from, as <see cref="ClientNetworks"/> judges it.</summary>
/// <param name="Key">The rate limiter's client key for an anonymous request: an IPv4 address or an IPv6 /64.</param>
/// <param name="Site">
/// The client's site, relayed to the services as <see cref="ClientNetworks.Header"/>: an IPv4 address or an IPv6 /48.
/// Users counts failed sign-ins by it, and a home holds many /64s.
/// </param>
/// <param name="IsFrontEnd">A vouching front end's own network, for a call that names no browser: it has the front ends' budget.</param>
public readonly record struct ClientNetwork(string Key, string Site, bool IsFrontEnd)
{
    /// <summary>
    /// The IPv6 /48 (<see cref="Site"/>) whose /64s share one anonymous budget on top of their own, since a site's
    /// holder has 65,536 of them; none for an IPv4 client or a front end, whose key is its site.
    /// </summary>
    public string? SharedBudget => Site == Key ? null : Site;
}

/// <summary>
/// Whose network a request comes from: the remote address, or the browser's when a front end vouches for it
/// (<see cref="FrontEndVouching"/>), since the front ends' own address is every player's. The rate limiter counts an
/// anonymous request by its IPv6 /64, the block one host or home is given, and all of a /48's together; Users counts
/// failed sign-ins by its /48 (<see cref="Header"/>), the site, since a home is usually given a /56 or /48 of /64s to pick from.
/// </summary>
public sealed class ClientNetworks(IConfiguration configuration)
{
    /// <summary>
    /// Set on every relayed request to <see cref="ClientNetwork.Site"/>, replacing any copy the client sent; Users reads it
    /// as a sign-in's source, Realtime as a signed-out caller (<see cref="FrontEndVouching.ClientNetworkHeader"/>).
    /// </summary>
    public const string Header = FrontEndVouching.ClientNetworkHeader;

    private readonly byte[]? _frontEndKey = configuration[FrontEndVouching.KeySetting] is { Length: > 0 } key ? Encoding.UTF8.GetBytes(key) : null;

    public ClientNetwork Of(HttpRequest request)
    {
        var remote = request.HttpContext.Connection.RemoteIpAddress;
        if (!IsVouchingFrontEnd(request.Headers))
        {
            return Client(remote);
        }
        // The browser's address, which the front end saw on the request it serves (a sign-in form, say); without one (a
        // token refresh from a live page) the front end's own.
        if (IPAddress.TryParse(request.Headers[FrontEndVouching.ClientAddressHeader], out var browser))
        {
            return Client(browser);
        }
        var frontEnd = $"{FrontEndVouching.FrontEndSitePrefix}{Unmapped(remote)}";
        return new(frontEnd, frontEnd, IsFrontEnd: true);
    }

    /// <summary>
    /// An IPv6 host usually holds a whole /64, and a home a /56 or /48, and can take a fresh address in them for each
    /// request: counted by address, it would have a budget per address. An IPv4 address stays one address, one client.
    /// </summary>
    private static ClientNetwork Client(IPAddress? address)
    {
        address = Unmapped(address);
        if (address is not { AddressFamily: AddressFamily.InterNetworkV6 })
        {
            var key = $"ip:{address}";
            return new(key, key, IsFrontEnd: false);
        }
        return new(Ipv6Network(address, prefixLength: 64), Ipv6Network(address, prefixLength: 48), IsFrontEnd: false);
    }

    private static string Ipv6Network(IPAddress address, int prefixLength)
    {
        Span<byte> network = stackalloc byte[16];
        address.TryWriteBytes(network, out _);
        network[(prefixLength / 8)..].Clear();
        return $"ip:{new IPAddress(network)}/{prefixLength}";
    }

    /// <summary>
    /// IPv4 mapped into IPv6 (<c>::ffff:203.0.113.7</c>, what a dual-stack socket reports for an IPv4 client) as plain
    /// IPv4, so one client reaching the gateway directly and through a front end (which names it plainly) is one client.
    /// </summary>
    private static IPAddress? Unmapped(IPAddress? address) => address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;

    /// <summary>Whether the request carries the front ends' key; the gateway also continues such a call's trace.</summary>
    public bool IsVouchingFrontEnd(IHeaderDictionary headers) =>
        _frontEndKey is not null && headers[FrontEndVouching.KeyHeader] is [{ } presented]
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _frontEndKey);
}
