//! What an SSH username names: an environment, by id or as `<project-slug>.<env-slug>`.

use crate::id::EnvironmentId;

/// The longest username looked at; anything longer names nothing.
const USERNAME_MAX: usize = 128;

/// The environment an SSH username names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SshTarget {
    /// The environment's id.
    Id(EnvironmentId),
    /// `<project-slug>.<env-slug>` (lowercased); several owners' projects may share the slug.
    Slugs {
        /// The project's slug.
        project: String,
        /// The environment's slug.
        environment: String,
    },
}

impl SshTarget {
    /// Parses a username. `None` when it cannot name an environment.
    pub(crate) fn parse(username: &str) -> Option<Self> {
        if username.is_empty() || username.len() > USERNAME_MAX {
            return None;
        }
        if let Ok(id) = uuid::Uuid::parse_str(username) {
            return Some(SshTarget::Id(EnvironmentId(id)));
        }
        let lower = username.to_ascii_lowercase();
        let (project, environment) = lower.split_once('.')?;
        let slug_like = |s: &str| crate::validate::slug("slug", s).is_ok();
        if !slug_like(project) || !slug_like(environment) {
            return None;
        }
        Some(SshTarget::Slugs {
            project: project.to_string(),
            environment: environment.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_or_project_dot_environment_names_an_environment() {
        let id = EnvironmentId::new();
        assert_eq!(SshTarget::parse(&id.to_string()), Some(SshTarget::Id(id)));
        assert_eq!(
            SshTarget::parse("Shop.Dev-1"),
            Some(SshTarget::Slugs {
                project: "shop".into(),
                environment: "dev-1".into()
            })
        );
    }

    #[test]
    fn anything_else_names_nothing() {
        for bad in [
            "",
            "shop",
            "shop.",
            ".dev",
            "shop.dev.x",
            "sh.dev",
            "shop.d_v",
            "root",
            "-shop.dev",
            &"a".repeat(200),
        ] {
            assert_eq!(SshTarget::parse(bad), None, "{bad:?}");
        }
    }
}
