namespace Microsoft.Extensions.Hosting;

/// <summary>
/// How the front ends (web, console), which call the gateway from their own servers, tell it whose call it is when no
/// token does: the browser's address, vouched for by a secret the AppHost gives the front ends and the gateway alone.
/// </summary>
public static class FrontEndVouching
{
    /// <summary>Configuration key of the shared secret (the same value for the gateway and the front ends).</summary>
    public const string KeySetting = "FrontEnd:Key";

    public const string KeyHeader = "X-StreamBets-Front-End";
    public const string ClientAddressHeader = "X-StreamBets-Client-Address";

    /// <summary>
    /// Set by the gateway on every request it relays, replacing any copy the client sent, to the client's site: an IPv4
    /// address, an IPv6 /48, or a vouching front end's own site (<see cref="FrontEndSitePrefix"/> and its address).
    /// </summary>
    public const string ClientNetworkHeader = "X-StreamBets-Client-Network";

    /// <summary>How the gateway names a vouching front end's site when the call names no browser address.</summary>
    public const string FrontEndSitePrefix = "front-end:";
}
