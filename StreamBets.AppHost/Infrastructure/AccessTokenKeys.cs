using System.Security.Cryptography;
using Aspire.Hosting.Publishing;

namespace StreamBets.AppHost.Infrastructure;

/// <summary>
/// The RSA key pair of the access tokens: Users signs with the private key, every service validates with the public one,
/// so a compromised service cannot mint a token. Run mode makes the pair once and keeps the private key in the AppHost's
/// user secrets; a deployment takes both halves as parameters (docs/users.md says how to make them).
/// </summary>
public sealed record AccessTokenKeys(IResourceBuilder<ParameterResource> PrivateKey, IResourceBuilder<ParameterResource>? PublishedPublicKey)
{
    public static AccessTokenKeys Add(IDistributedApplicationBuilder builder) => builder.ExecutionContext.IsPublishMode
        ? new(builder.AddParameter("access-token-private-key", secret: true), builder.AddParameter("access-token-public-key"))
        : new(builder.AddParameter("access-token-private-key", new NewPrivateKey(), secret: true, persist: true), null);

    internal static string PublicKeyOf(string? privateKey)
    {
        using var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(Convert.FromBase64String(privateKey ?? ""), out _);
        return Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
    }

    /// <summary>A fresh 2048-bit key, base64 DER PKCS#8: one line, so it fits user secrets and environment variables.</summary>
    private sealed class NewPrivateKey : ParameterDefault
    {
        public override string GetDefaultValue()
        {
            using var rsa = RSA.Create(2048);
            return Convert.ToBase64String(rsa.ExportPkcs8PrivateKey());
        }

        // Publish mode asks for the key instead (Add): a generated one would differ from the public key it was given.
        public override void WriteToManifest(ManifestPublishingContext context) =>
            throw new NotSupportedException("A deployment takes access-token-private-key as a parameter.");
    }
}

public static class AccessTokenWiring
{
    /// <summary>The public key that checks access tokens, as <c>Auth__PublicKey</c>.</summary>
    public static IResourceBuilder<ProjectResource> WithAccessTokenValidation(this IResourceBuilder<ProjectResource> service, AccessTokenKeys keys) =>
        keys.PublishedPublicKey is { } publicKey
            ? service.WithEnvironment("Auth__PublicKey", publicKey)
            : service.WithEnvironment(async context => context.EnvironmentVariables["Auth__PublicKey"] =
                AccessTokenKeys.PublicKeyOf(await keys.PrivateKey.Resource.GetValueAsync(context.CancellationToken)));

    /// <summary>Users: the private key that signs them too, as <c>Auth__SigningKey</c>.</summary>
    public static IResourceBuilder<ProjectResource> WithAccessTokenSigning(this IResourceBuilder<ProjectResource> users, AccessTokenKeys keys) =>
        users.WithAccessTokenValidation(keys).WithEnvironment("Auth__SigningKey", keys.PrivateKey);
}
