using System.Globalization;

namespace StreamBets.Testing;

/// <summary>A benchmark's command line: <c>--name value</c> pairs and bare <c>--flag</c>s, shared by every harness.</summary>
public sealed class BenchmarkArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _flags = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="known">When given, any other name is refused with the list of known ones.</param>
    public BenchmarkArguments(string[] args, params string[] known)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Expected --name value pairs or --flags, got '{args[i]}'.");
            }
            var name = args[i][2..];
            if (known.Length > 0 && !known.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Unknown option --{name}; known: {string.Join(", ", known.Select(k => "--" + k))}.");
            }
            if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                _values[name] = args[++i];
            }
            else
            {
                _flags.Add(name);
            }
        }
    }

    public string? Text(string name) => _values.GetValueOrDefault(name);

    public string Text(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    /// <summary>An integer; "1_000_000" reads as 1000000.</summary>
    public int Number(string name, int fallback) => _values.TryGetValue(name, out var text)
        ? int.Parse(text.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture)
        : fallback;

    public bool Flag(string name) => _flags.Contains(name);
}
