using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Hosting;

namespace StreamBets.Messaging.Tests;

/// <summary>
/// ServiceDefaults' problem details as a deployed service answers them (Production): a body or parameter the endpoint
/// cannot read is explained, not a bare 400. Minimal APIs throw on such requests only in Development by default, so
/// every other test (they run in Development) would pass without the setting that makes production do the same.
/// </summary>
public sealed class ProblemDetailsTests
{
    public sealed record StakeRequest(Guid PoolId, long StakeMinor);

    [Theory]
    [InlineData("""{"poolId":"8c1c1d8e-5b1e-4a0e-9d6f-1f2a3b4c5d6e","stakeMinor":"lots"}""", "stakeMinor", "The body is not valid JSON for this request at $.stakeMinor.")]
    [InlineData("""{"poolId":"8c1c1d8e-5b1e-4a0e-9d6f-1f2a3b4c5d6e","stakeMinor":10.5}""", "stakeMinor", "The body is not valid JSON for this request at $.stakeMinor.")]
    [InlineData("""{"poolId":"nope","stakeMinor":100}""", "poolId", "The body is not valid JSON for this request at $.poolId.")]
    [InlineData("""{"poolId":"8c1c1d8e-5b1e-4a0e-9d6f-1f2a3b4c5d6e","stakeMinor":10""", "stakeMinor", "The body is not valid JSON for this request at $.stakeMinor.")]
    [InlineData("[1]", "body", "The body is not valid JSON for this request at $.")]
    // A name the client chose is cut to 64 characters, never inside an emoji's surrogate pair (JSON cannot carry half).
    [InlineData("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\ud83d\ude00b\":tru}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "The body is not valid JSON for this request at $.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\ud83d\ude00b.")]
    [InlineData("", "body", "The request needs a JSON body.")]
    [InlineData("null", "body", "The request needs a JSON object body.")]
    public async Task A_body_the_endpoint_cannot_read_is_a_400_invalid_request_that_says_where(string body, string field, string detail)
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/stakes", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await AssertInvalidRequestAsync(response);
        Assert.Equal("The request could not be read.", problem.Title);
        Assert.Equal(detail, problem.Detail);
        Assert.Equal([detail], Assert.Single(problem.Errors, error => error.Key == field).Value);
    }

    [Theory]
    [InlineData("windows-1252")]
    [InlineData("nope")]
    public async Task A_json_body_in_a_charset_dotnet_does_not_know_is_a_415_problem_not_a_500(string charset)
    {
        await using var app = await StartAsync();
        using var content = new StringContent("""{"poolId":"8c1c1d8e-5b1e-4a0e-9d6f-1f2a3b4c5d6e","stakeMinor":100}""");
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"application/json; charset={charset}");

        using var response = await app.GetTestClient().PostAsync("/stakes", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal($"The body's charset '{charset}' is not supported: send JSON in UTF-8.", problem?.Detail);
    }

    [Theory]
    [InlineData("utf-8")]
    [InlineData("\"utf-8\"")] // quoted, as HTTP allows
    public async Task A_json_body_declared_in_utf_8_is_read(string charset)
    {
        await using var app = await StartAsync();
        using var content = new StringContent("""{"poolId":"8c1c1d8e-5b1e-4a0e-9d6f-1f2a3b4c5d6e","stakeMinor":100}""");
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"application/json; charset={charset}");

        using var response = await app.GetTestClient().PostAsync("/stakes", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_query_parameter_of_the_wrong_type_is_a_400_problem_that_names_it()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().GetAsync("/stakes?limit=abc");

        var problem = await AssertInvalidRequestAsync(response);
        Assert.Contains("limit", problem.Detail);
        Assert.Contains("abc", problem.Detail);
        Assert.Equal("limit", Assert.Single(problem.Errors).Key);
    }

    [Fact]
    public async Task A_database_that_does_not_answer_is_a_503_to_retry_not_a_500()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().GetAsync("/balance");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal("https://streambets.dev/problems/dependency-unavailable", problem?.Type);
        Assert.Equal("Try again in a few seconds, with the same Idempotency-Key if the request had one.", problem?.Detail);
    }

    [Fact]
    public async Task A_database_error_no_retry_fixes_stays_a_500()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().GetAsync("/broken");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal("An unexpected error occurred.", problem?.Title);
    }

    private static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseTestServer();
        builder.AddDefaultProblemDetails();
        var app = builder.Build();
        app.UseDefaultProblemDetails();
        app.MapPost("/stakes", (StakeRequest request) => Results.Ok(request));
        app.MapGet("/stakes", (int? limit) => Results.Ok(limit));
        // Nothing listens on port 1: the database is down (restarting, failing over).
        app.MapGet("/balance", async () =>
        {
            await using var connection = new Npgsql.NpgsqlConnection("Host=127.0.0.1;Port=1;Timeout=2;Username=x;Password=x");
            await connection.OpenAsync();
            return Results.Ok();
        });
        // A statement PostgreSQL refuses (a bug, here a violated constraint): retrying changes nothing.
        app.MapGet("/broken", IResult () => throw new Npgsql.PostgresException("violates check constraint", "ERROR", "ERROR", "23514"));
        await app.StartAsync();
        return app;
    }

    /// <summary>The contract every endpoint's own validation keeps: clients switch on the type and read <c>errors</c>.</summary>
    private static async Task<HttpValidationProblemDetails> AssertInvalidRequestAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<HttpValidationProblemDetails>();
        Assert.NotNull(problem);
        Assert.Equal(400, problem.Status);
        Assert.Equal("https://streambets.dev/problems/invalid-request", problem.Type);
        return problem;
    }
}
