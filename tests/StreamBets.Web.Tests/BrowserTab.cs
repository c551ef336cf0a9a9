using System.Collections.Concurrent;
using Bunit;
using Microsoft.AspNetCore.Components.Server.ProtectedBrowserStorage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.JSInterop;
using Microsoft.JSInterop.Infrastructure;

namespace StreamBets.Web.Tests;

/// <summary>
/// A browser tab's sessionStorage as the app's protected storage reaches it (JS interop), with the data-protection keys
/// the app's replicas share: a page rendered again on the same tab (a reload, a new circuit, another player signing in)
/// finds what an earlier one kept there.
/// </summary>
public sealed class BrowserTab
{
    /// <summary>The tab's sessionStorage: key to the protected text the app wrote.</summary>
    public ConcurrentDictionary<string, string> SessionStorage { get; } = new();

    private IDataProtectionProvider DataProtection { get; } = new EphemeralDataProtectionProvider();

    /// <summary>The page context's storage is this tab's.</summary>
    public void OpenIn(BunitContext bunit)
    {
        bunit.JSInterop.AddInvocationHandler(new Read(SessionStorage));
        bunit.JSInterop.AddInvocationHandler(new Write("sessionStorage.setItem", call => SessionStorage[Key(call)] = (string)call.Arguments[1]!));
        bunit.JSInterop.AddInvocationHandler(new Write("sessionStorage.removeItem", call => SessionStorage.TryRemove(Key(call), out _)));
        bunit.Services.AddScoped(services => new ProtectedSessionStorage(services.GetRequiredService<IJSRuntime>(), DataProtection));
    }

    /// <summary>Every value in the tab edited by hand (or by a browser extension): none decrypts any more.</summary>
    public void TamperWithEverything()
    {
        foreach (var key in SessionStorage.Keys)
        {
            SessionStorage[key] = "A" + SessionStorage[key];
        }
    }

    private static string Key(JSRuntimeInvocation call) => (string)call.Arguments[0]!;

    /// <summary>Answers each read with what the tab holds then (bUnit's own handlers answer one value set up).</summary>
    private sealed class Read(ConcurrentDictionary<string, string> items)
        : JSRuntimeInvocationHandler<string>(call => call.Identifier == "sessionStorage.getItem", isCatchAllHandler: false)
    {
        protected override Task<string> HandleAsync(JSRuntimeInvocation invocation)
        {
            SetResult(items.GetValueOrDefault(Key(invocation))!); // null: nothing kept under the key
            return base.HandleAsync(invocation);
        }
    }

    private sealed class Write(string identifier, Action<JSRuntimeInvocation> write)
        : JSRuntimeInvocationHandler(call => call.Identifier == identifier, isCatchAllHandler: false)
    {
        protected override Task<IJSVoidResult> HandleAsync(JSRuntimeInvocation invocation)
        {
            write(invocation);
            SetVoidResult();
            return base.HandleAsync(invocation);
        }
    }
}
