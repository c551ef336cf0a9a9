using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Betting;

namespace StreamBets.Web.Tests;

/// <summary>
/// A bet, deposit or withdrawal sent with no answer keeps its key until an answer judges it: only then may the next one
/// go under a new key, or the money could move twice.
/// </summary>
public sealed class UnansweredRequestTests
{
    [Theory]
    [InlineData(ApiProblem.Unavailable)] // no answer: it may still be made
    [InlineData(ApiProblem.SignedOut)] // the client did not send it, or the gateway refused the token first
    [InlineData("rate-limited")] // the gateway's 429, before any service
    public void An_answer_that_judges_nothing_leaves_the_request_unanswered(string code) =>
        Assert.False(UnansweredRequest.IsSettledBy(ApiResult<bool>.Failure(ApiProblem.Of(503, code))));

    [Theory]
    [InlineData("insufficient-funds")]
    [InlineData("pool-locked")]
    [InlineData("idempotency-key-reused")]
    public void A_services_refusal_settles_the_request(string code) =>
        Assert.True(UnansweredRequest.IsSettledBy(ApiResult<bool>.Failure(ApiProblem.Of(422, code))));

    [Fact]
    public void A_success_settles_the_request() => Assert.True(UnansweredRequest.IsSettledBy(ApiResult<bool>.Success(true)));
}
