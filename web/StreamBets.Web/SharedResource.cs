namespace StreamBets.Web;

/// <summary>The marker type of the app's strings: Resources/SharedResource.resx (English) and SharedResource.pt-BR.resx.</summary>
public sealed class SharedResource;
