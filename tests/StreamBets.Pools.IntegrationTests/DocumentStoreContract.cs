using StreamBets.Pools.Documents;

namespace StreamBets.Pools.IntegrationTests;

public sealed record SampleDocument(string Name, long Amount, bool Flag, string[] Tags, SampleDocument? Child = null);

/// <summary>
/// What any <see cref="IDocumentStore"/> must do, run against each adapter. Every test uses its own collection names,
/// so the suite can share one server with other runs.
/// </summary>
public abstract class DocumentStoreContract
{
    /// <summary>A store on a real server, or a skip naming why there is none.</summary>
    protected abstract Task<IDocumentStore> StoreAsync();

    private static string NewCollection() => $"c{Guid.NewGuid():N}"[..12];

    [SkippableFact]
    public async Task A_document_put_is_read_back_as_it_was_written()
    {
        var store = await StoreAsync();
        var collection = NewCollection();
        var document = new SampleDocument("Água e 🏆", 9_007_199_254_740_993, true, ["a", "b"], new SampleDocument("child", -1, false, []));

        await store.PutAsync(collection, "doc-1", document);
        var read = await store.GetAsync<SampleDocument>(collection, "doc-1");

        Assert.NotNull(read);
        Assert.Equal((document.Name, document.Amount, document.Flag), (read.Name, read.Amount, read.Flag));
        Assert.Equal(document.Tags, read.Tags);
        Assert.Equal(("child", -1L), (read.Child!.Name, read.Child.Amount));
        Assert.Null(read.Child.Child);
    }

    [SkippableFact]
    public async Task A_missing_document_reads_as_null()
    {
        var store = await StoreAsync();

        Assert.Null(await store.GetAsync<SampleDocument>(NewCollection(), "nothing-here"));
    }

    [SkippableFact]
    public async Task A_second_put_replaces_the_whole_document()
    {
        var store = await StoreAsync();
        var collection = NewCollection();
        await store.PutAsync(collection, "doc", new SampleDocument("first", 1, true, ["x"], new SampleDocument("old child", 2, true, [])));

        await store.PutAsync(collection, "doc", new SampleDocument("second", 2, false, []));

        var read = await store.GetAsync<SampleDocument>(collection, "doc");
        Assert.Equal(("second", 2L, false, 0), (read!.Name, read.Amount, read.Flag, read.Tags.Length));
        Assert.Null(read.Child);
        Assert.Single(await store.ListAsync<SampleDocument>(collection));
    }

    [SkippableFact]
    public async Task A_list_holds_the_collections_documents_by_id_and_no_others()
    {
        var store = await StoreAsync();
        var (collection, other) = (NewCollection(), NewCollection());
        await store.PutAsync(collection, "b", new SampleDocument("B", 2, true, []));
        await store.PutAsync(collection, "a", new SampleDocument("A", 1, true, []));
        await store.PutAsync(other, "c", new SampleDocument("C", 3, true, []));

        var listed = await store.ListAsync<SampleDocument>(collection);

        Assert.Equal(["a", "b"], listed.Select(d => d.Id));
        Assert.Equal(["A", "B"], listed.Select(d => d.Document.Name));
        Assert.Empty(await store.ListAsync<SampleDocument>(NewCollection()));
    }

    [SkippableFact]
    public async Task Delete_removes_the_document_and_says_whether_there_was_one()
    {
        var store = await StoreAsync();
        var collection = NewCollection();
        await store.PutAsync(collection, "doc", new SampleDocument("gone soon", 1, true, []));

        Assert.True(await store.DeleteAsync(collection, "doc"));
        Assert.False(await store.DeleteAsync(collection, "doc"));
        Assert.Null(await store.GetAsync<SampleDocument>(collection, "doc"));
    }

    [SkippableFact]
    public async Task A_put_at_the_version_read_replaces_the_document_and_a_put_at_an_outdated_one_does_not()
    {
        var store = await StoreAsync();
        var collection = NewCollection();
        await store.PutAsync(collection, "doc", new SampleDocument("first", 1, true, []));
        var read = (await store.GetVersionedAsync<SampleDocument>(collection, "doc"))!;

        Assert.True(await store.TryPutAsync(collection, "doc", new SampleDocument("second", 2, true, []), read.Version));
        Assert.False(await store.TryPutAsync(collection, "doc", new SampleDocument("stale", 3, true, []), read.Version));
        Assert.False(await store.TryPutAsync(collection, "doc", new SampleDocument("unknown", 4, true, []), "not-a-version"));

        var now = (await store.GetVersionedAsync<SampleDocument>(collection, "doc"))!;
        Assert.Equal("second", now.Document.Name);
        Assert.NotEqual(read.Version, now.Version);
        await store.PutAsync(collection, "doc", new SampleDocument("third", 5, true, []));
        Assert.False(await store.TryPutAsync(collection, "doc", new SampleDocument("stale", 6, true, []), now.Version));
        Assert.Null(await store.GetVersionedAsync<SampleDocument>(collection, "missing"));
    }

    [SkippableFact]
    public async Task A_delete_at_the_version_read_removes_the_document_and_a_delete_at_an_outdated_one_does_not()
    {
        var store = await StoreAsync();
        var collection = NewCollection();
        await store.PutAsync(collection, "doc", new SampleDocument("first", 1, true, []));
        var read = (await store.GetVersionedAsync<SampleDocument>(collection, "doc"))!;
        await store.PutAsync(collection, "doc", new SampleDocument("changed meanwhile", 2, true, []));
        var now = (await store.GetVersionedAsync<SampleDocument>(collection, "doc"))!;

        Assert.False(await store.TryDeleteAsync(collection, "doc", read.Version));
        Assert.False(await store.TryDeleteAsync(collection, "doc", "not-a-version"));
        Assert.Equal("changed meanwhile", (await store.GetAsync<SampleDocument>(collection, "doc"))!.Name);
        Assert.True(await store.TryDeleteAsync(collection, "doc", now.Version));
        Assert.Null(await store.GetAsync<SampleDocument>(collection, "doc"));
        Assert.False(await store.TryDeleteAsync(collection, "doc", now.Version));
    }

    [SkippableFact]
    public async Task A_put_without_a_version_creates_the_document_only_if_there_is_none()
    {
        var store = await StoreAsync();
        var collection = NewCollection();

        Assert.True(await store.TryPutAsync(collection, "doc", new SampleDocument("first", 1, true, []), expectedVersion: null));
        Assert.False(await store.TryPutAsync(collection, "doc", new SampleDocument("second", 2, true, []), expectedVersion: null));

        Assert.Equal("first", (await store.GetAsync<SampleDocument>(collection, "doc"))!.Name);
    }

    [SkippableFact]
    public async Task Of_writers_at_the_same_version_exactly_one_wins()
    {
        var store = await StoreAsync();
        var collection = NewCollection();
        await store.PutAsync(collection, "doc", new SampleDocument("start", 0, true, []));
        var read = (await store.GetVersionedAsync<SampleDocument>(collection, "doc"))!;

        var won = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => store.TryPutAsync(collection, "doc", new SampleDocument($"writer {i}", i, true, []), read.Version)));

        Assert.Single(won, w => w);
    }

    [SkippableFact]
    public async Task The_same_id_in_two_collections_is_two_documents()
    {
        var store = await StoreAsync();
        var (first, second) = (NewCollection(), NewCollection());

        await store.PutAsync(first, "same", new SampleDocument("one", 1, true, []));
        await store.PutAsync(second, "same", new SampleDocument("two", 2, true, []));

        Assert.Equal("one", (await store.GetAsync<SampleDocument>(first, "same"))!.Name);
        Assert.Equal("two", (await store.GetAsync<SampleDocument>(second, "same"))!.Name);
    }
}
