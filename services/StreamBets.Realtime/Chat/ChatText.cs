using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Chat;

/// <summary>What a chat message may say: trimmed, without control characters, 1 to <c>maxLength</c> characters.</summary>
public static class ChatText
{
    public static string Clean(string? text, int maxLength)
    {
        // Control characters (newlines included) are replaced, so one message is one line in every client.
        var cleaned = new string([.. (text ?? "").Select(c => char.IsControl(c) ? ' ' : c)]).Trim();
        if (cleaned.Length == 0)
        {
            throw new RefusedException("message-empty", "Write something first: the message is empty.");
        }
        if (cleaned.Length > maxLength)
        {
            throw new RefusedException("message-too-long", $"Messages are at most {maxLength} characters; this one has {cleaned.Length}.");
        }
        return cleaned;
    }
}
