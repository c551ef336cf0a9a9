using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.Apis;

/// <summary>KYC for players, the providers' webhooks and the admins' review queue.</summary>
public static class KycApi
{
    /// <summary>Provider webhooks are small JSON envelopes; anything larger is not one.</summary>
    private const int MaxWebhookBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapKycApi(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/api/users/me/kyc").WithTags("KYC").RequireAuthorization();
        me.MapGet("/", GetStatusAsync);
        me.MapPost("/document", SubmitDocumentAsync);
        me.MapPost("/checks", StartCheckAsync);

        // Authenticated by the provider's HMAC signature, not by a user token.
        app.MapPost("/api/users/kyc/webhooks/{provider}", ReceiveWebhookAsync).WithTags("KYC").AllowAnonymous();

        var admin = app.MapGroup("/api/users/admin/kyc").WithTags("Admin").RequireAuthorization(AuthenticationDefaults.Policies.Admin);
        admin.MapGet("/reviews", ListReviewsAsync);
        admin.MapPost("/reviews/{checkId:guid}/approve", ApproveAsync);
        admin.MapPost("/reviews/{checkId:guid}/reject", RejectAsync);
        return app;
    }

    public static async Task<Results<Ok<KycStatusView>, NotFound>> GetStatusAsync(ClaimsPrincipal user, KycVerification kyc, CancellationToken cancellationToken) =>
        await kyc.GetStatusAsync(user.GetUserId(), cancellationToken) is { } status ? TypedResults.Ok(status) : TypedResults.NotFound();

    public static async Task<Results<Ok<KycStatusView>, ValidationProblem, ProblemHttpResult>> SubmitDocumentAsync(
        SubmitDocumentRequest request, ClaimsPrincipal user, KycVerification kyc, CancellationToken cancellationToken) =>
        (await kyc.SubmitDocumentAsync(user.GetUserId(), request, cancellationToken)).ToOk();

    public static async Task<Results<Accepted<KycCheckView>, ValidationProblem, ProblemHttpResult>> StartCheckAsync(
        StartCheckRequest request, ClaimsPrincipal user, KycVerification kyc, CancellationToken cancellationToken) =>
        (await kyc.StartCheckAsync(user.GetUserId(), request, cancellationToken)).ToResult(check => TypedResults.Accepted("/api/users/me/kyc", check));

    public static async Task<Results<Ok<WebhookReceipt>, ValidationProblem, ProblemHttpResult>> ReceiveWebhookAsync(
        string provider, HttpRequest request, KycWebhookReceiver receiver, CancellationToken cancellationToken)
    {
        // The signature covers the exact bytes sent, so the body is read raw, never re-serialised; and never more of it
        // than the limit, whatever Content-Length says (a chunked body has none).
        var body = new byte[MaxWebhookBytes + 1];
        var length = request.ContentLength > MaxWebhookBytes ? body.Length
            : await request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken);
        if (length > MaxWebhookBytes)
        {
            return Problems.WebhookTooLarge(MaxWebhookBytes).ToProblem();
        }
        var signature = request.Headers[OnfidoWebhookSignature.HeaderName].ToString();
        return (await receiver.ReceiveAsync(provider, body.AsMemory(0, length), signature, cancellationToken)).ToOk();
    }

    /// <summary>The checks waiting for an admin, oldest first, a page at a time (<c>nextCursor</c> for the next).</summary>
    public static async Task<Results<Ok<KycReviewPage>, ValidationProblem>> ListReviewsAsync(
        string? cursor, int? limit, KycReviewQueue queue, CancellationToken cancellationToken)
    {
        if (OutcomeResults.InvalidPage(PageCursor.TryParse(cursor, out var after), limit, KycReviewQueue.MaxLimit) is { } invalid)
        {
            return invalid;
        }
        return TypedResults.Ok(await queue.ListAsync(after, limit ?? KycReviewQueue.DefaultLimit, cancellationToken));
    }

    public static async Task<Results<Ok<KycCheckView>, ValidationProblem, ProblemHttpResult>> ApproveAsync(
        Guid checkId, KycDecisionRequest? request, ClaimsPrincipal user, KycReviewQueue queue, CancellationToken cancellationToken) =>
        (await queue.DecideAsync(checkId, user.GetUserId(), approve: true, request ?? new KycDecisionRequest(null), cancellationToken)).ToOk();

    public static async Task<Results<Ok<KycCheckView>, ValidationProblem, ProblemHttpResult>> RejectAsync(
        Guid checkId, KycDecisionRequest request, ClaimsPrincipal user, KycReviewQueue queue, CancellationToken cancellationToken) =>
        (await queue.DecideAsync(checkId, user.GetUserId(), approve: false, request, cancellationToken)).ToOk();
}
