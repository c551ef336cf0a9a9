namespace StreamBets.Web.Live;

public enum ToastKind
{
    Info,
    Success,
    Warning,
}

public sealed record Toast(Guid Id, string Title, string Text, ToastKind Kind);

/// <summary>Short notices for this circuit (a bet settled, a deposit arrived); each disappears by itself after a while.</summary>
public sealed class Toasts
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(12);

    private readonly List<Toast> _items = [];
    private readonly Lock _gate = new();

    public event Action? Changed;

    public IReadOnlyList<Toast> Items
    {
        get { lock (_gate) { return [.. _items]; } }
    }

    public void Show(string title, string text, ToastKind kind = ToastKind.Info)
    {
        var toast = new Toast(Guid.NewGuid(), title, text, kind);
        lock (_gate)
        {
            _items.Add(toast);
        }
        Changed?.Invoke();
        _ = DismissLaterAsync(toast.Id);
    }

    public void Dismiss(Guid id)
    {
        lock (_gate)
        {
            _items.RemoveAll(t => t.Id == id);
        }
        Changed?.Invoke();
    }

    private async Task DismissLaterAsync(Guid id)
    {
        await Task.Delay(Lifetime);
        Dismiss(id);
    }
}
