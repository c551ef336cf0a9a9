using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamBets.Users.Kyc;

/// <summary>
/// Onfido's webhook envelope: <c>{"payload": {"resource_type": "check", "action": "check.completed",
/// "object": {"id", "status", "completed_at_iso8601", "href"}}}</c>. The documented object carries no
/// result; it is fetched from the provider. A <c>result</c> in the object, when present, is used.
/// </summary>
public sealed record OnfidoWebhookEnvelope(OnfidoWebhookPayload Payload)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static OnfidoWebhookEnvelope? TryParse(ReadOnlySpan<byte> body)
    {
        try
        {
            var envelope = JsonSerializer.Deserialize<OnfidoWebhookEnvelope>(body, Json);
            return envelope?.Payload is { ResourceType: not null, Action: not null, Object.Id: not null } ? envelope : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public byte[] ToUtf8Bytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}

public sealed record OnfidoWebhookPayload(string ResourceType, string Action, OnfidoWebhookObject Object);

public sealed record OnfidoWebhookObject(
    string Id,
    string? Status,
    [property: JsonPropertyName("completed_at_iso8601")] DateTimeOffset? CompletedAt,
    string? Href,
    string? Result = null);

/// <summary>
/// Onfido's webhook signature: header <c>X-SHA2-Signature</c> holds the hex HMAC-SHA256 of the raw
/// request body keyed with the webhook token, compared in constant time.
/// </summary>
public static class OnfidoWebhookSignature
{
    public const string HeaderName = "X-SHA2-Signature";

    public static string Sign(ReadOnlySpan<byte> body, string webhookToken) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(webhookToken), body));

    public static bool IsValid(ReadOnlySpan<byte> body, string? signatureHex, string webhookToken)
    {
        if (string.IsNullOrEmpty(signatureHex) || signatureHex.Length != 64 || string.IsNullOrEmpty(webhookToken))
        {
            return false;
        }
        byte[] presented;
        try
        {
            presented = Convert.FromHexString(signatureHex);
        }
        catch (FormatException)
        {
            return false;
        }
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(webhookToken), body);
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }
}
