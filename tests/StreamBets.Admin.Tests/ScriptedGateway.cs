using System.Net;
using System.Net.Http.Json;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The gateway as the console meets it: a JSON answer (or a refusal, or no answer at all) for each path (and query)
/// prefix, the longest prefix winning, and the next request to a prefix held back until the test lets it through, which
/// is how a slow answer arrives late. A prefix that starts with a method ("PUT /api/…") answers that method only.
/// </summary>
public sealed class ScriptedGateway : HttpMessageHandler
{
    private readonly Dictionary<string, Func<HttpResponseMessage>> _answers = [];
    private readonly Dictionary<string, TaskCompletionSource> _holds = [];
    private readonly List<string> _requests = [];
    private readonly List<(string Request, string? Body)> _bodies = [];

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

    /// <summary>The body of the last <paramref name="request"/> (method and path) sent; null when it had none.</summary>
    public string? BodyOf(string request)
    {
        lock (_requests)
        {
            return _bodies.Last(sent => sent.Request == request).Body;
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests starting with <paramref name="start"/> (method and path) have arrived.</summary>
    public async Task WaitForRequestAsync(string start, int count = 1)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (Requests.Count(request => request.StartsWith(start, StringComparison.Ordinal)) < count)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public void Answer(string prefix, Func<object> body) =>
        Respond(prefix, () => new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(body()) });

    /// <summary>Answers <paramref name="prefix"/> with <paramref name="status"/> and, if given, a problem-details body.</summary>
    public void Refuse(string prefix, HttpStatusCode status, object? problem = null) =>
        Respond(prefix, () => new HttpResponseMessage(status)
        {
            Content = problem is null ? null : JsonContent.Create(problem, mediaType: new("application/problem+json")),
        });

    /// <summary>Leaves <paramref name="prefix"/> without an answer: its requests throw, as the HTTP client does when none came.</summary>
    public void Throw(string prefix, Func<Exception> exception) => Respond(prefix, () => throw exception());

    private void Respond(string prefix, Func<HttpResponseMessage> response)
    {
        lock (_answers)
        {
            _answers[prefix] = response;
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
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        lock (_requests)
        {
            _requests.Add($"{request.Method} {target}");
            _bodies.Add(($"{request.Method} {target}", body));
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

        Func<HttpResponseMessage>? answer;
        var withMethod = $"{request.Method} {target}";
        lock (_answers)
        {
            answer = _answers.Keys.Where(p => target.StartsWith(p, StringComparison.Ordinal) || withMethod.StartsWith(p, StringComparison.Ordinal))
                .OrderByDescending(p => p.Length).Select(p => _answers[p]).FirstOrDefault();
        }
        return answer is null ? new HttpResponseMessage(HttpStatusCode.NotFound) : answer();
    }
}
