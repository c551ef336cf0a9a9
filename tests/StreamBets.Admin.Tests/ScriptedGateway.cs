using System.Net;
using System.Net.Http.Json;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The gateway as the console meets it: a JSON answer for each path (and query) prefix, the longest prefix winning, and
/// the next request to a prefix held back until the test lets it through, which is how a slow answer arrives late.
/// </summary>
public sealed class ScriptedGateway : HttpMessageHandler
{
    private readonly Dictionary<string, Func<object>> _answers = [];
    private readonly Dictionary<string, TaskCompletionSource> _holds = [];
    private readonly List<string> _requests = [];

    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Waits until a request starting with <paramref name="start"/> (method and path) has arrived.</summary>
    public async Task WaitForRequestAsync(string start)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!Requests.Any(request => request.StartsWith(start, StringComparison.Ordinal)))
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public void Answer(string prefix, Func<object> body)
    {
        lock (_answers)
        {
            _answers[prefix] = body;
        }
    }

    /// <summary>Stops answering <paramref name="prefix"/>: its requests then get 404, as from a gateway that lost the route.</summary>
    public void Forget(string prefix)
    {
        lock (_answers)
        {
            _answers.Remove(prefix);
        }
    }

    /// <summary>Holds the next request to <paramref name="prefix"/>; completing the returned source lets it through.</summary>
    public TaskCompletionSource HoldNext(string prefix)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_holds)
        {
            _holds[prefix] = release;
        }
        return release;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = Uri.UnescapeDataString(request.RequestUri!.PathAndQuery);
        lock (_requests)
        {
            _requests.Add($"{request.Method} {target}");
        }

        TaskCompletionSource? hold = null;
        lock (_holds)
        {
            if (_holds.Keys.Where(target.StartsWith).OrderByDescending(p => p.Length).FirstOrDefault() is { } prefix)
            {
                hold = _holds[prefix];
                _holds.Remove(prefix);
            }
        }
        if (hold is not null)
        {
            await hold.Task.WaitAsync(cancellationToken);
        }

        Func<object>? answer;
        lock (_answers)
        {
            answer = _answers.Keys.Where(target.StartsWith).OrderByDescending(p => p.Length).Select(p => _answers[p]).FirstOrDefault();
        }
        return answer is null
            ? new HttpResponseMessage(HttpStatusCode.NotFound)
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(answer()) };
    }
}
