//! The store conformance suite: the behaviour every [`Store`](crate::Store) backend promises.
//!
//! Each check is a plain `pub async fn <rule>(store: &dyn Store)` that panics when the backend
//! breaks the rule, asserting on error kinds and the fields they name. Run them all with
//! [`store_conformance!`](crate::store_conformance):
//!
//! ```ignore
//! // tests/conformance.rs of a backend crate
//! vibebox_core::store_conformance!(async { MyStore::connect("…").await.unwrap() });
//! ```
//!
//! The checks use only the public `Store` API and never sleep. They do not depend on other data
//! in the store: every email, slug, prefix and token is random, so they can share one database
//! and run concurrently. Two global operations are kept apart by convention: log retention
//! checks use [`fixtures::retention_cutoff`] and [`fixtures::RETENTION_MAX_BYTES`], and every
//! other check writes log lines after the cut-off and fewer bytes per environment than the
//! limit.

mod audit;
mod auth;
mod environments;
mod extensions;
pub mod fixtures;
mod health;
mod logs;
mod ports_variables;
mod projects;
mod sessions;
mod ssh_keys;
mod teams;
mod users;

pub use audit::*;
pub use auth::*;
pub use environments::*;
pub use extensions::*;
pub use health::*;
pub use logs::*;
pub use ports_variables::*;
pub use projects::*;
pub use sessions::*;
pub use ssh_keys::*;
pub use teams::*;
pub use users::*;

/// What every check file imports.
mod prelude {
    pub(super) use super::fixtures::*;
    pub(super) use crate::Store;
    pub(super) use crate::clock::Timestamp;
    pub(super) use crate::domain::*;
    pub(super) use crate::error::{Error, ErrorKind};
    pub(super) use crate::id::*;
    pub(super) use crate::store::*;
}

#[doc(hidden)]
pub use tokio as __tokio;

/// The single list of checks. Calls `$crate::$callback! { $args check_a, check_b, … }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __vibebox_store_checks {
    ($callback:ident ! $args:tt) => {
        $crate::$callback! { $args
            backend_answers_ping,
            user_round_trips_every_field,
            email_is_unique_case_insensitively,
            find_user_by_email_ignores_case,
            update_user_rejects_taken_email,
            missing_user_is_not_found,
            oauth_identity_is_unique_per_provider_subject,
            create_user_with_taken_identity_creates_nothing,
            create_user_links_identity_atomically,
            oauth_identity_requires_existing_user,
            count_users_counts_created_users,
            pagination_cursor_walks_every_item_once,
            malformed_cursor_is_invalid_input,
            team_slug_is_unique,
            create_team_requires_admin_role,
            create_team_requires_existing_user,
            missing_team_is_not_found,
            membership_is_unique_per_team_and_user,
            missing_membership_is_not_found,
            last_admin_cannot_be_demoted,
            last_admin_cannot_be_removed,
            concurrent_admin_demotions_keep_one_admin,
            deleting_team_cascades_to_members_and_projects,
            list_teams_for_user_lists_only_member_teams,
            members_are_listed_by_user_id,
            project_slug_is_unique_per_owner_only,
            update_project_rejects_taken_slug,
            project_owner_must_exist,
            list_projects_for_user_includes_team_projects,
            list_projects_by_owner_lists_only_that_owner,
            deleting_project_cascades_to_environments,
            next_cursor_is_set_exactly_when_more_items_exist,
            environment_slug_is_unique_per_project,
            environment_access_reads_project_and_team_role,
            environment_update_is_compare_and_set,
            environment_update_increments_version,
            concurrent_status_updates_have_one_winner,
            oom_kills_count_up_and_keep_the_latest_time,
            concurrent_oom_kills_all_count,
            warnings_are_replaced_and_leave_oom_and_version_alone,
            update_environment_keeps_stored_health,
            health_of_unknown_environment_is_not_found,
            deleting_environment_cascades_to_children,
            count_running_environments_counts_starting_running_and_suspended,
            suspended_and_resuming_environments_round_trip_and_filter,
            environment_filter_matches_every_field,
            environments_are_found_by_project_and_environment_slugs,
            missing_parent_is_not_found,
            timestamps_round_trip_at_microsecond_precision,
            container_port_is_unique_per_environment_and_protocol,
            host_port_is_unique_across_environments,
            bound_host_ports_are_recorded_and_cleared,
            deleting_missing_port_or_variable_is_not_found,
            ports_are_private_by_default,
            share_level_is_set_and_read_back,
            share_level_of_a_missing_port_is_not_found,
            put_variable_upserts_by_key,
            variables_are_listed_by_key,
            encrypted_variables_are_listed_in_batches_by_id,
            live_session_name_is_unique,
            terminated_session_frees_its_name,
            session_update_is_compare_and_set,
            touch_session_never_moves_backwards,
            sessions_by_status_are_oldest_activity_first,
            purge_removes_only_old_terminated_sessions,
            extension_id_is_unique,
            environment_extension_is_unique_per_environment,
            environment_extension_requires_existing_parents,
            environment_extension_update_is_compare_and_set,
            environment_extensions_by_status_are_listed_by_id,
            extension_catalog_pages_by_id,
            log_ids_increase_in_append_order,
            failed_log_batch_writes_nothing,
            log_query_filters_by_time_and_stream,
            log_query_pages_in_both_orders,
            malformed_log_cursor_is_invalid_input,
            latest_log_and_log_bytes_reflect_stored_lines,
            log_retention_drops_lines_older_than_cutoff,
            log_retention_drops_oldest_first_over_size_limit,
            api_key_prefix_is_unique,
            api_key_is_deleted_only_by_its_user,
            refresh_token_hash_is_unique,
            refresh_rotation_has_one_winner,
            replayed_refresh_token_does_not_rotate,
            revoking_refresh_sessions_counts_only_unrevoked,
            list_refresh_sessions_hides_used_revoked_and_expired,
            audit_lists_newest_first,
            audit_filters_by_team_and_actor,
            ssh_key_fingerprint_is_unique_across_users,
            ssh_key_round_trips_every_field,
            ssh_key_requires_existing_user,
            ssh_keys_are_listed_per_user_and_paged_by_id,
            ssh_key_is_read_and_deleted_only_by_its_user,
            touching_an_ssh_key_records_its_last_use,
        }
    };
}

/// Builds the name list for [`ALL_CHECKS`].
#[doc(hidden)]
#[macro_export]
macro_rules! __vibebox_store_check_names {
    ([] $($check:ident),* $(,)?) => {
        &[$(stringify!($check)),*]
    };
}

/// Generates one test per check.
#[doc(hidden)]
#[macro_export]
macro_rules! __vibebox_store_check_tests {
    ([$make:expr] $($check:ident),* $(,)?) => {
        /// The store conformance suite (`vibebox_core::store_conformance!`).
        #[allow(unused_imports, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
        mod store_conformance {
            use super::*;
            use $crate::testing::store_checks::__tokio as tokio;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let store = $make.await;
                    $crate::testing::store_checks::$check(&store).await;
                }
            )*
        }
    };
}

/// The name of every check, in the order the tests are generated.
pub const ALL_CHECKS: &[&str] = crate::__vibebox_store_checks!(__vibebox_store_check_names![]);

/// Generates one `#[tokio::test]` per store conformance check, in a module named
/// `store_conformance`, so a failure names the rule that broke.
///
/// The argument is an expression evaluating to a future whose output implements
/// [`Store`](crate::Store); it is evaluated once per test, so each check gets a fresh store.
/// The tests use tokio's multi-thread runtime, so the calling crate's build must enable tokio's
/// `rt-multi-thread` feature (for example through a tokio dev-dependency).
///
/// ```ignore
/// vibebox_core::store_conformance!(async { vibebox_core::testing::MemoryStore::new() });
/// ```
#[macro_export]
macro_rules! store_conformance {
    ($make:expr $(,)?) => {
        $crate::__vibebox_store_checks!(__vibebox_store_check_tests![$make]);
    };
}

#[cfg(test)]
mod tests {
    use super::ALL_CHECKS;

    #[test]
    fn check_names_are_unique() {
        let mut names = ALL_CHECKS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL_CHECKS.len());
        assert!(ALL_CHECKS.len() >= 40);
    }
}
