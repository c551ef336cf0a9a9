using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using MongoDB.Bson;
using StreamBets.Pools.Documents;

namespace StreamBets.Pools.Tests.Documents;

/// <summary>
/// MongoDB's list, from the documents a find returns: no MongoDB server runs on the build machines, so the mapping is
/// tested on the documents themselves.
/// </summary>
public sealed class MongoDocumentListTests
{
    [Fact]
    public void A_document_inserted_by_hand_under_an_ObjectId_is_left_out_and_logged_not_thrown()
    {
        var handMade = ObjectId.GenerateNewId();
        var logged = new ErrorsLogged();
        BsonDocument[] found =
        [
            new() { ["_id"] = handMade, ["title"] = "Made in the shell" },
            new() { ["_id"] = "quick", ["_version"] = "v1", ["title"] = "Quick", ["bettingWindowSeconds"] = 60 },
        ];

        var listed = MongoDocumentStore.Listed<JsonNode>("templates", found, logged);

        var only = Assert.Single(listed);
        Assert.Equal("quick", only.Id);
        Assert.Equal("""{"title":"Quick","bettingWindowSeconds":60}""", only.Document.ToJsonString());
        var error = Assert.Single(logged.Messages);
        Assert.Contains("templates", error);
        Assert.Contains(handMade.ToString(), error);
    }

    private sealed class ErrorsLogged : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }
}
