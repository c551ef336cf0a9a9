namespace StreamBets.Users;

/// <summary>
/// A broken business rule. <see cref="Code"/> is the stable problem type clients switch on
/// (https://streambets.dev/problems/{code}); <see cref="Detail"/> is for people.
/// </summary>
public sealed record DomainError(string Code, int Status, string Title, string Detail)
{
    public const string TypePrefix = "https://streambets.dev/problems/";

    public string Type => TypePrefix + Code;
}

/// <summary>The result of a domain operation: a value, field validation errors, or a broken rule.</summary>
public sealed class Outcome<T>
{
    private Outcome(T? value, IDictionary<string, string[]>? validationErrors, DomainError? error)
    {
        Value = value;
        ValidationErrors = validationErrors;
        Error = error;
    }

    public T? Value { get; }
    public IDictionary<string, string[]>? ValidationErrors { get; }
    public DomainError? Error { get; }

    public static Outcome<T> Success(T value) => new(value, null, null);
    public static Outcome<T> Invalid(IDictionary<string, string[]> errors) => new(default, errors, null);
    public static Outcome<T> Failure(DomainError error) => new(default, null, error);

    public static implicit operator Outcome<T>(T value) => Success(value);
    public static implicit operator Outcome<T>(DomainError error) => Failure(error);
}

/// <summary>Collects field errors under camelCase field names, as a ValidationProblem shows them.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }
        messages.Add(message);
    }

    public IDictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
