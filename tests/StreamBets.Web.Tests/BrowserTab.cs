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

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new();

    /// <summary>The page context's storage is this tab's.</summary>
    public void OpenIn(BunitContext bunit)
    {
        bunit.JSInterop.AddInvocationHandler(new Read(this));
        bunit.JSInterop.AddInvocationHandler(new Write(this, "sessionStorage.setItem", call => SessionStorage[Key(call)] = (string)call.Arguments[1]!));
        bunit.JSInterop.AddInvocationHandler(new Write(this, "sessionStorage.removeItem", call => SessionStorage.TryRemove(Key(call), out _)));
        bunit.Services.AddScoped(services => new ProtectedSessionStorage(services.GetRequiredService<IJSRuntime>(), DataProtection));
    }

    /// <summary>The tab's next reads (getItem) wait until the returned release, as a busy browser's; they answer what it holds then.</summary>
    public Action HoldReads() => Hold("sessionStorage.getItem");

    /// <summary>The tab's next writes (setItem) wait until the returned release, as a busy browser's.</summary>
    public Action HoldWrites() => Hold("sessionStorage.setItem");

    private Action Hold(string identifier)
    {
        var held = _held[identifier] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return () =>
        {
            _held.TryRemove(identifier, out _);
            held.SetResult();
        };
    }

    private Task WhileHeld(JSRuntimeInvocation call) => _held.TryGetValue(call.Identifier, out var held) ? held.Task : Task.CompletedTask;

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
    private sealed class Read(BrowserTab tab)
        : JSRuntimeInvocationHandler<string>(call => call.Identifier == "sessionStorage.getItem", isCatchAllHandler: false)
    {
        protected override async Task<string> HandleAsync(JSRuntimeInvocation invocation)
        {
            await tab.WhileHeld(invocation);
            lock (this) // reads released together must not answer each other's values
            {
                SetResult(tab.SessionStorage.GetValueOrDefault(Key(invocation))!); // null: nothing kept under the key
                return base.HandleAsync(invocation).Result;
            }
        }
    }

    private sealed class Write(BrowserTab tab, string identifier, Action<JSRuntimeInvocation> write)
        : JSRuntimeInvocationHandler(call => call.Identifier == identifier, isCatchAllHandler: false)
    {
        protected override async Task<IJSVoidResult> HandleAsync(JSRuntimeInvocation invocation)
        {
            await tab.WhileHeld(invocation);
            write(invocation);
            lock (this)
            {
                SetVoidResult();
                return base.HandleAsync(invocation).Result;
            }
        }
    }
}
