using System.Diagnostics;

namespace StreamBets.AppHost.Tests;

/// <summary><c>--StreamBets:ResetData=true</c> on the AppHost as <c>./run.sh</c> runs it (the model is built, nothing started).</summary>
public sealed class LocalDataResetTests
{
    [Fact]
    public async Task A_reset_deletes_only_the_servers_folders_and_first_stops_a_server_a_killed_run_left_on_them()
    {
        var data = Directory.CreateTempSubdirectory("streambets-reset-").FullName;
        var redisFolder = Path.Combine(data, "redis");
        Directory.CreateDirectory(redisFolder);
        Directory.CreateDirectory(Path.Combine(data, "postgres"));
        await File.WriteAllTextAsync(Path.Combine(data, "postgres", "PG_VERSION"), "15");
        await File.WriteAllTextAsync(Path.Combine(data, "notes.txt"), "the user's own file, beside the servers' folders");
        // A Redis a hard-killed run left behind (on a socket, not a port the tests share); its PID file is in the folder
        // the reset deletes.
        using var leftover = Process.Start(new ProcessStartInfo("redis-server",
            ["--port", "0", "--unixsocket", Path.Combine(redisFolder, "redis.sock"), "--dir", redisFolder, "--pidfile", Path.Combine(redisFolder, "redis.pid"), "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!File.Exists(Path.Combine(redisFolder, "redis.pid")) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            Assert.True(File.Exists(Path.Combine(redisFolder, "redis.pid")), "the leftover Redis wrote its PID file");

            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.StreamBets_AppHost>(
                ["--StreamBets:Infrastructure=Local", $"--StreamBets:DataDirectory={data}", "--StreamBets:ResetData=true"]);

            Assert.True(File.Exists(Path.Combine(data, "notes.txt")), "a file of the user's in the data folder survives the reset");
            Assert.False(Directory.Exists(Path.Combine(data, "postgres")));
            Assert.False(Directory.Exists(redisFolder));
            // Left running, it would hold its port and its append-only file while a new Redis starts.
            Assert.True(leftover.WaitForExit(TimeSpan.FromSeconds(10)), "the leftover Redis was stopped before its PID file was deleted");
        }
        finally
        {
            if (!leftover.HasExited)
            {
                leftover.Kill();
            }
            Directory.Delete(data, recursive: true);
        }
    }
}
