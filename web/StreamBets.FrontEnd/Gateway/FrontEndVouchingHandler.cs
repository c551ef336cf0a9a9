using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;

namespace StreamBets.FrontEnd.Gateway;

/// <summary>
/// Vouches, on every gateway call, for the browser this front end is serving (<see cref="FrontEndVouching"/>): the
/// gateway then counts an anonymous call (a sign-in, a registration) against that browser's rate limit rather than
/// against this server's, which every player shares. A call with no browser at hand (a token refresh from a live page)
/// carries the key alone and counts against the front end's own, larger budget.
/// </summary>
public sealed class FrontEndVouchingHandler(IConfiguration configuration, IHttpContextAccessor http) : DelegatingHandler
{
    private readonly string? _key = configuration[FrontEndVouching.KeySetting] is { Length: > 0 } key ? key : null;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Set, not added: a retried request passes through again.
        request.Headers.Remove(FrontEndVouching.KeyHeader);
        request.Headers.Remove(FrontEndVouching.ClientAddressHeader);
        if (_key is { } key)
        {
            request.Headers.TryAddWithoutValidation(FrontEndVouching.KeyHeader, key);
            if (http.HttpContext?.Connection.RemoteIpAddress is { } browser)
            {
                request.Headers.TryAddWithoutValidation(FrontEndVouching.ClientAddressHeader, browser.ToString());
            }
        }
        return base.SendAsync(request, cancellationToken);
    }
}
