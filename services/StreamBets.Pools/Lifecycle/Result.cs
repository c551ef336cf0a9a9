using System.Diagnostics.CodeAnalysis;

namespace StreamBets.Pools.Lifecycle;

/// <summary>Either what a pool operation produced or the rule it broke; rule violations are not exceptions.</summary>
public readonly struct Result<T> where T : class
{
    private Result(T? value, PoolError? error) => (Value, Error) = (value, error);

    public T? Value { get; }

    public PoolError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(PoolError error) => new(null, error);
}
