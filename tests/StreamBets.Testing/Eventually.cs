namespace StreamBets.Testing;

/// <summary>Waits for background work (event delivery, relays, sweepers) without sleeping a fixed time.</summary>
public static class Eventually
{
    /// <summary>Polls every 50 ms until the condition holds or the time is up; answers the last evaluation.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(50);
        }
        return await condition();
    }
}
