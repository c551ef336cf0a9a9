namespace StreamBets.AppHost.Infrastructure;

public static class KycWiring
{
    /// <summary>
    /// A deployment checks identities with Onfido (<c>Kyc__Provider</c>, its API token and the token Onfido answered when
    /// the webhook was registered): without them Users answers every KYC start with 503 and no player reaches tier 2.
    /// Run mode sets nothing, so Users' Development settings keep the sandbox provider.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithOnfidoKycInDeployments(this IResourceBuilder<ProjectResource> users)
    {
        var builder = users.ApplicationBuilder;
        if (!builder.ExecutionContext.IsPublishMode)
        {
            return users;
        }
        return users
            .WithEnvironment("Kyc__Provider", "onfido") // OnfidoKycProvider.ProviderName
            .WithEnvironment("Kyc__Onfido__ApiToken", builder.AddParameter("onfido-api-token", secret: true))
            .WithEnvironment("Kyc__Onfido__WebhookToken", builder.AddParameter("onfido-webhook-token", secret: true));
    }
}
