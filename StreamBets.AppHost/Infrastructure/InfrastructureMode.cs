using System.Diagnostics;

namespace StreamBets.AppHost.Infrastructure;

public enum InfrastructureMode
{
    /// <summary>PostgreSQL, Redis, Kafka, MongoDB and ClickHouse run as containers (Docker or Podman), as in deployment.</summary>
    Containers,

    /// <summary>PostgreSQL, Redis and ClickHouse run from the machine's packages; events go over Redis Streams, documents into PostgreSQL.</summary>
    Local,
}

/// <summary>Picks the infrastructure mode: the <c>StreamBets:Infrastructure</c> setting wins, else a container runtime that answers means containers.</summary>
public static class InfrastructureModeDetector
{
    public const string SettingName = "StreamBets:Infrastructure";

    public static (InfrastructureMode Mode, string Reason) Detect(IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            return (InfrastructureMode.Containers, "publishing a deployment, which always uses containers");
        }

        var setting = builder.Configuration[SettingName];
        if (Enum.TryParse<InfrastructureMode>(setting, ignoreCase: true, out var chosen))
        {
            return (chosen, $"{SettingName} is set to {chosen}");
        }

        foreach (var runtime in new[] { "docker", "podman" })
        {
            if (RuntimeAnswers(runtime))
            {
                return (InfrastructureMode.Containers, $"the {runtime} engine answered");
            }
        }
        return (InfrastructureMode.Local, "no Docker or Podman engine answered");
    }

    private static bool RuntimeAnswers(string runtime)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }
            if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // not installed
        }
    }
}
