using Microsoft.AspNetCore.Components;

namespace StreamBets.Web.Components.Shared;

public static class NavigationPaths
{
    /// <summary>The page shown as a path on this site ("/pools/…?from=home"): where sign-in and the culture switch send the player back.</summary>
    public static string CurrentPath(this NavigationManager navigation) => "/" + navigation.ToBaseRelativePath(navigation.Uri);
}
