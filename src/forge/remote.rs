//! Reading `owner/name` and the host out of the URLs CI systems hand over:
//! git remotes in their https and ssh forms, and pull-request pages.

use std::fmt;

/// A repository on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSlug {
    pub owner: String,
    pub name: String,
}

impl RepoSlug {
    /// A slug from its parts, when both are plausible GitHub names.
    pub fn new(owner: &str, name: &str) -> Option<RepoSlug> {
        let ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (ok(owner) && ok(name)).then(|| RepoSlug {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    /// Parses `OWNER/NAME`.
    pub fn parse(text: &str) -> Option<RepoSlug> {
        let (owner, name) = text.trim().split_once('/')?;
        RepoSlug::new(owner, name)
    }
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A repository on a GitHub host, as named by a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRepo {
    /// The web host, e.g. `github.com` or a GitHub Enterprise host (without a port).
    pub host: String,
    pub repo: RepoSlug,
}

/// Parses a git remote or a repository page URL:
/// `https://github.com/o/r(.git)`, `https://user@host/o/r`,
/// `git@host:o/r.git`, `ssh://git@host:7999/o/r.git`, and a pull-request URL
/// `https://host/o/r/pull/5` (the owner and name come first in all of them).
pub fn parse(url: &str) -> Option<RemoteRepo> {
    let url = url.trim();
    let (host, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(scheme, "https" | "http" | "ssh" | "git") {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        (authority, path)
    } else {
        // scp-like: [user@]host:owner/name.git
        let (authority, path) = url.split_once(':')?;
        if authority.contains('/') {
            return None;
        }
        (authority, path)
    };
    let host = host.rsplit('@').next()?;
    // A port belongs to the transport (ssh on 7999), not to the web host.
    let host = host.split(':').next()?.to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let mut parts = path.trim_matches('/').split('/');
    let owner = parts.next()?;
    let name = parts.next()?;
    let name = name.strip_suffix(".git").unwrap_or(name);
    let repo = RepoSlug::new(owner, name)?;
    Some(RemoteRepo { host, repo })
}

/// The pull-request number at the end of a pull-request URL
/// (`https://host/o/r/pull/5`), or the text itself when it is a number.
pub fn pull_number(text: &str) -> Option<u64> {
    let text = text.trim().trim_end_matches('/');
    if let Ok(n) = text.parse::<u64>() {
        return (n > 0).then_some(n);
    }
    let (before, number) = text.rsplit_once('/')?;
    if !(before.ends_with("/pull") || before.ends_with("/pulls")) {
        return None;
    }
    number.parse::<u64>().ok().filter(|n| *n > 0)
}

/// The API URL of a web host: `https://api.github.com` for github.com, and
/// GitHub Enterprise Server's `https://HOST/api/v3` for any other host.
pub fn api_url_for(host: &str) -> String {
    if host == "github.com" {
        "https://api.github.com".into()
    } else {
        format!("https://{host}/api/v3")
    }
}

/// The web URL of an API URL: `https://github.com` for api.github.com, the
/// same host without `/api/v3` for GitHub Enterprise Server.
pub fn server_url_for(api_url: &str) -> String {
    let api = api_url.trim_end_matches('/');
    if let Some(rest) = api.strip_suffix("/api/v3") {
        return rest.to_string();
    }
    if let Some((scheme, rest)) = api.split_once("://") {
        if let Some(host) = rest.strip_prefix("api.") {
            return format!("{scheme}://{host}");
        }
    }
    api.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> Option<(String, String)> {
        parse(url).map(|r| (r.host, r.repo.to_string()))
    }

    #[test]
    fn https_and_ssh_remotes() {
        let want = Some(("github.com".to_string(), "acme/models".to_string()));
        assert_eq!(parsed("https://github.com/acme/models.git"), want);
        assert_eq!(parsed("https://github.com/acme/models"), want);
        assert_eq!(parsed("https://ci-bot@github.com/acme/models.git"), want);
        assert_eq!(parsed("git@github.com:acme/models.git"), want);
        assert_eq!(parsed("ssh://git@github.com/acme/models.git"), want);
        assert_eq!(parsed("https://github.com/acme/models/pull/12"), want);
    }

    #[test]
    fn enterprise_hosts_drop_the_transport_port() {
        assert_eq!(
            parsed("ssh://git@ghe.corp.example:7999/ml/ranker.git"),
            Some(("ghe.corp.example".into(), "ml/ranker".into()))
        );
        assert_eq!(
            parsed("https://GHE.corp.example:8443/ml/ranker/pull/3"),
            Some(("ghe.corp.example".into(), "ml/ranker".into()))
        );
    }

    #[test]
    fn rejects_what_is_not_a_repository() {
        assert_eq!(parsed("/srv/git/models.git"), None);
        assert_eq!(parsed("https://github.com/acme"), None);
        assert_eq!(parsed("file:///srv/git/acme/models.git"), None);
        assert_eq!(parsed(""), None);
    }

    #[test]
    fn pull_numbers_from_numbers_and_urls() {
        assert_eq!(pull_number("42"), Some(42));
        assert_eq!(pull_number("https://github.com/o/r/pull/42"), Some(42));
        assert_eq!(pull_number("https://github.com/o/r/pull/42/"), Some(42));
        assert_eq!(pull_number("0"), None);
        assert_eq!(pull_number("https://github.com/o/r/issues/42"), None);
        assert_eq!(pull_number("false"), None);
    }

    #[test]
    fn api_and_server_urls() {
        assert_eq!(api_url_for("github.com"), "https://api.github.com");
        assert_eq!(api_url_for("ghe.corp"), "https://ghe.corp/api/v3");
        assert_eq!(
            server_url_for("https://api.github.com"),
            "https://github.com"
        );
        assert_eq!(
            server_url_for("https://ghe.corp/api/v3/"),
            "https://ghe.corp"
        );
    }
}
