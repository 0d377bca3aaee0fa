#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The authorization table of DESIGN.md §3 as a matrix: every (relation, action, is_creator)
//! for every kind of actor has an expected outcome written here from the design, and the test
//! fails if a pair has none.

use proptest::prelude::*;
use vibebox_core::domain::{Role, Scope};
use vibebox_core::id::{ApiKeyId, UserId};
use vibebox_core::rbac::{Action, Actor, Relation, Target, UserActor, authorize};
use vibebox_core::{Error, ErrorKind};

// ---------------------------------------------------------------------------------------------
// The expected table, from DESIGN.md §3 (and §6 for the routes the table does not list)

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Allow,
    /// `PermissionDenied`.
    Denied,
    /// `NotFound`.
    NotFound,
}

/// A cell of the table.
#[derive(Clone, Copy, Debug)]
enum Cell {
    /// yes
    A,
    /// no: visible but refused
    D,
    /// not found
    N,
    /// "own environments": allowed to the environment's creator, refused to others
    C,
}
use Cell::{A, C, D, N};

/// Columns, in order: personal project owner, team admin, team developer, team viewer, anyone
/// else.
type Row = (Action, [Cell; 5]);

/// A user who is not a platform admin.
///
/// Notes on cells the design leaves implicit:
/// - "create project" for a personal project owner ("—" in the design) is creating one's own
///   project, which every user may do.
/// - team rows (read team, manage team, read team audit) have no personal-project owner: owning
///   a personal project says nothing about a team, so the team stays invisible.
/// - `GET /teams/{id}` is for members; `GET /teams/{id}/audit` is for team admins (§6).
/// - account and catalog reads are one's own and need no relation; platform actions are
///   platform-admin only.
const PLAIN_USER: &[Row] = &[
    (Action::ReadProject, [A, A, A, A, N]),
    (Action::CreateProject, [A, A, A, D, N]),
    (Action::UpdateProject, [A, A, A, D, N]),
    (Action::DeleteProject, [A, A, D, D, N]),
    (Action::CreateEnvironment, [A, A, A, D, N]),
    (Action::ManageEnvironment, [A, A, C, D, N]),
    (Action::StartStopEnvironment, [A, A, C, D, N]),
    (Action::ExecEnvironment, [A, A, C, D, N]),
    (Action::ReadTeam, [N, A, A, A, N]),
    (Action::ManageTeam, [N, A, D, D, N]),
    (Action::ReadTeamAudit, [N, A, D, D, N]),
    (Action::ReadOwnAccount, [A, A, A, A, A]),
    (Action::ManageOwnAccount, [A, A, A, A, A]),
    (Action::ReadCatalog, [A, A, A, A, A]),
    (Action::ManageUsers, [D, D, D, D, D]),
    (Action::ManageExtensionCatalog, [D, D, D, D, D]),
    (Action::ReadAuditLog, [D, D, D, D, D]),
];

/// A platform admin: the same tenant rights as anyone (being a platform admin does not open other
/// tenants' projects), plus the platform actions.
const PLATFORM_ADMIN: &[Row] = &[
    (Action::ReadProject, [A, A, A, A, N]),
    (Action::CreateProject, [A, A, A, D, N]),
    (Action::UpdateProject, [A, A, A, D, N]),
    (Action::DeleteProject, [A, A, D, D, N]),
    (Action::CreateEnvironment, [A, A, A, D, N]),
    (Action::ManageEnvironment, [A, A, C, D, N]),
    (Action::StartStopEnvironment, [A, A, C, D, N]),
    (Action::ExecEnvironment, [A, A, C, D, N]),
    (Action::ReadTeam, [N, A, A, A, N]),
    (Action::ManageTeam, [N, A, D, D, N]),
    (Action::ReadTeamAudit, [N, A, D, D, N]),
    (Action::ReadOwnAccount, [A, A, A, A, A]),
    (Action::ManageOwnAccount, [A, A, A, A, A]),
    (Action::ReadCatalog, [A, A, A, A, A]),
    (Action::ManageUsers, [A, A, A, A, A]),
    (Action::ManageExtensionCatalog, [A, A, A, A, A]),
    (Action::ReadAuditLog, [A, A, A, A, A]),
];

/// The scope an API key needs for each action, from the scope descriptions.
const REQUIRED_SCOPE: &[(Action, Scope)] = &[
    (Action::ReadProject, Scope::Read),
    (Action::CreateProject, Scope::ProjectsWrite),
    (Action::UpdateProject, Scope::ProjectsWrite),
    (Action::DeleteProject, Scope::ProjectsWrite),
    (Action::CreateEnvironment, Scope::EnvironmentsWrite),
    (Action::ManageEnvironment, Scope::EnvironmentsWrite),
    (Action::StartStopEnvironment, Scope::EnvironmentsLifecycle),
    (Action::ExecEnvironment, Scope::EnvironmentsExec),
    (Action::ReadTeam, Scope::Read),
    (Action::ManageTeam, Scope::TeamsWrite),
    (Action::ReadTeamAudit, Scope::Read),
    (Action::ReadOwnAccount, Scope::Read),
    (Action::ManageOwnAccount, Scope::AccountWrite),
    (Action::ReadCatalog, Scope::Read),
    (Action::ManageUsers, Scope::Admin),
    (Action::ManageExtensionCatalog, Scope::Admin),
    (Action::ReadAuditLog, Scope::Admin),
];

/// Actions on a project, environment or team: decided by the actor's relation to it.
const TENANT_ACTIONS: &[Action] = &[
    Action::ReadProject,
    Action::CreateProject,
    Action::UpdateProject,
    Action::DeleteProject,
    Action::CreateEnvironment,
    Action::ManageEnvironment,
    Action::StartStopEnvironment,
    Action::ExecEnvironment,
    Action::ReadTeam,
    Action::ManageTeam,
    Action::ReadTeamAudit,
];

/// Actions on a project or its environments (what a personal project's owner may all do).
const PROJECT_ACTIONS: &[Action] = &[
    Action::ReadProject,
    Action::CreateProject,
    Action::UpdateProject,
    Action::DeleteProject,
    Action::CreateEnvironment,
    Action::ManageEnvironment,
    Action::StartStopEnvironment,
    Action::ExecEnvironment,
];

const PLATFORM_ACTIONS: &[Action] = &[
    Action::ManageUsers,
    Action::ManageExtensionCatalog,
    Action::ReadAuditLog,
];

fn column(relation: Relation) -> usize {
    match relation {
        Relation::Owner => 0,
        Relation::Member(Role::Admin) => 1,
        Relation::Member(Role::Developer) => 2,
        Relation::Member(Role::Viewer) => 3,
        Relation::Stranger => 4,
    }
}

/// The expected outcome for a user, or `None` when the table has no row for the action.
fn expected_for_user(
    platform_admin: bool,
    relation: Relation,
    action: Action,
    is_creator: bool,
) -> Option<Outcome> {
    let table = if platform_admin {
        PLATFORM_ADMIN
    } else {
        PLAIN_USER
    };
    let (_, cells) = table.iter().find(|(a, _)| *a == action)?;
    Some(match cells[column(relation)] {
        A => Outcome::Allow,
        D => Outcome::Denied,
        N => Outcome::NotFound,
        C if is_creator => Outcome::Allow,
        C => Outcome::Denied,
    })
}

fn required_scope(action: Action) -> Option<Scope> {
    REQUIRED_SCOPE
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, s)| *s)
}

/// The expected outcome for an API key: the user's, narrowed by the scopes. A key never makes a
/// hidden resource visible, so a `NotFound` stays `NotFound`.
fn expected_for_key(
    platform_admin: bool,
    scopes: &[Scope],
    relation: Relation,
    action: Action,
    is_creator: bool,
) -> Option<Outcome> {
    let user = expected_for_user(platform_admin, relation, action, is_creator)?;
    let scope = required_scope(action)?;
    Some(match user {
        Outcome::Allow if !scopes.contains(&scope) => Outcome::Denied,
        other => other,
    })
}

// ---------------------------------------------------------------------------------------------
// Running the code under test

const RESOURCE: &str = "environment";

fn user(platform_admin: bool) -> UserActor {
    UserActor {
        id: UserId::new(),
        is_platform_admin: platform_admin,
    }
}

fn plain_user() -> Actor {
    Actor::User(user(false))
}

fn platform_admin() -> Actor {
    Actor::User(user(true))
}

fn api_key(platform_admin: bool, scopes: &[Scope]) -> Actor {
    Actor::ApiKey {
        user: user(platform_admin),
        key_id: ApiKeyId::new(),
        scopes: scopes.to_vec(),
    }
}

fn target(relation: Relation, is_creator: bool) -> Target {
    Target {
        resource: RESOURCE,
        relation,
        is_creator,
    }
}

/// Runs `authorize` and checks that the error, if any, is well formed.
#[track_caller]
fn outcome(actor: &Actor, action: Action, target: &Target) -> Outcome {
    match authorize(actor, action, target) {
        Ok(()) => Outcome::Allow,
        Err(e) => match (e.kind(), &e) {
            (ErrorKind::PermissionDenied, Error::PermissionDenied { action: named }) => {
                assert_eq!(*named, action.name(), "the error names the action");
                Outcome::Denied
            }
            (ErrorKind::NotFound, Error::NotFound { resource }) => {
                assert_eq!(*resource, target.resource, "the error names the resource");
                Outcome::NotFound
            }
            _ => panic!("unexpected error for {action:?}: {e:?}"),
        },
    }
}

/// Every subset of the scopes (2^8 = 256 of them).
fn all_scope_sets() -> Vec<Vec<Scope>> {
    let n = Scope::ALL.len();
    (0..1_u32 << n)
        .map(|mask| {
            Scope::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| *s)
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The matrix

#[test]
fn every_action_and_relation_has_an_expected_outcome() {
    let mut missing = Vec::new();
    for &relation in Relation::ALL {
        for &action in Action::ALL {
            for is_creator in [true, false] {
                for platform_admin in [false, true] {
                    if expected_for_user(platform_admin, relation, action, is_creator).is_none() {
                        missing.push(format!(
                            "action {:?} for relation {relation:?} is not covered",
                            action.name()
                        ));
                    }
                }
            }
            if required_scope(action).is_none() {
                missing.push(format!("action {:?} has no expected scope", action.name()));
            }
        }
    }
    missing.dedup();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // And the tables list each action exactly once.
    for table in [PLAIN_USER, PLATFORM_ADMIN] {
        assert_eq!(table.len(), Action::ALL.len());
        for &action in Action::ALL {
            assert_eq!(
                table.iter().filter(|(a, _)| *a == action).count(),
                1,
                "{action:?}"
            );
        }
    }
    assert_eq!(REQUIRED_SCOPE.len(), Action::ALL.len());
}

#[test]
fn relation_and_action_lists_are_complete() {
    // Five relations: owner, three roles, stranger. Role::ALL is the source of roles.
    assert_eq!(Relation::ALL.len(), 2 + Role::ALL.len());
    for &role in Role::ALL {
        assert!(Relation::ALL.contains(&Relation::Member(role)), "{role}");
    }
    let mut names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Action::ALL.len(), "action names are unique");
}

#[test]
fn plain_user_matrix() {
    let actor = plain_user();
    let mut failures = Vec::new();
    for &relation in Relation::ALL {
        for &action in Action::ALL {
            for is_creator in [true, false] {
                let want = expected_for_user(false, relation, action, is_creator).unwrap();
                let got = outcome(&actor, action, &target(relation, is_creator));
                if got != want {
                    failures.push(format!(
                        "user {relation:?} {action:?} creator={is_creator}: want {want:?}, got {got:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn platform_admin_matrix() {
    let actor = platform_admin();
    let mut failures = Vec::new();
    for &relation in Relation::ALL {
        for &action in Action::ALL {
            for is_creator in [true, false] {
                let want = expected_for_user(true, relation, action, is_creator).unwrap();
                let got = outcome(&actor, action, &target(relation, is_creator));
                if got != want {
                    failures.push(format!(
                        "platform admin {relation:?} {action:?} creator={is_creator}: want {want:?}, got {got:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn api_key_matrix_for_every_scope_set() {
    let mut failures = Vec::new();
    for scopes in all_scope_sets() {
        for platform_admin in [false, true] {
            let actor = api_key(platform_admin, &scopes);
            for &relation in Relation::ALL {
                for &action in Action::ALL {
                    for is_creator in [true, false] {
                        let want =
                            expected_for_key(platform_admin, &scopes, relation, action, is_creator)
                                .unwrap();
                        let got = outcome(&actor, action, &target(relation, is_creator));
                        if got != want {
                            failures.push(format!(
                                "key {scopes:?} admin={platform_admin} {relation:?} {action:?} creator={is_creator}: want {want:?}, got {got:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn required_scopes_match_the_scope_descriptions() {
    for &(action, scope) in REQUIRED_SCOPE {
        assert_eq!(action.required_scope(), scope, "{action:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The rules, one by one

#[test]
fn tenant_actions_are_exactly_the_project_and_team_actions() {
    for &action in Action::ALL {
        assert_eq!(
            action.is_tenant_action(),
            TENANT_ACTIONS.contains(&action),
            "{action:?}"
        );
    }
}

#[test]
fn strangers_get_not_found_naming_the_resource_for_every_tenant_action() {
    let actors = [
        plain_user(),
        platform_admin(),
        api_key(false, Scope::ALL),
        api_key(true, Scope::ALL),
        api_key(false, &[]),
    ];
    for resource in ["project", "environment", "team", "session", "variable"] {
        for actor in &actors {
            for &action in TENANT_ACTIONS {
                for is_creator in [true, false] {
                    let t = Target {
                        resource,
                        relation: Relation::Stranger,
                        is_creator,
                    };
                    let e = authorize(actor, action, &t).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::NotFound, "{action:?} {actor:?}");
                    assert_eq!(e.to_string(), format!("{resource} not found"));
                }
            }
        }
    }
}

#[test]
fn stranger_gets_not_found_not_forbidden() {
    let e = authorize(
        &plain_user(),
        Action::DeleteProject,
        &Target {
            resource: "project",
            relation: Relation::Stranger,
            is_creator: false,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn viewer_cannot_start_environment() {
    let t = target(Relation::Member(Role::Viewer), true);
    assert_eq!(
        outcome(&plain_user(), Action::StartStopEnvironment, &t),
        Outcome::Denied
    );
}

#[test]
fn viewer_can_read_the_project() {
    let t = target(Relation::Member(Role::Viewer), false);
    assert_eq!(
        outcome(&plain_user(), Action::ReadProject, &t),
        Outcome::Allow
    );
}

#[test]
fn developer_manages_only_own_environments() {
    let dev = Relation::Member(Role::Developer);
    for action in [
        Action::ManageEnvironment,
        Action::StartStopEnvironment,
        Action::ExecEnvironment,
    ] {
        assert_eq!(
            outcome(&plain_user(), action, &target(dev, true)),
            Outcome::Allow
        );
        assert_eq!(
            outcome(&plain_user(), action, &target(dev, false)),
            Outcome::Denied,
            "{action:?} on a colleague's environment"
        );
    }
}

#[test]
fn team_admin_manages_any_environment() {
    let admin = Relation::Member(Role::Admin);
    for action in [
        Action::ManageEnvironment,
        Action::StartStopEnvironment,
        Action::ExecEnvironment,
    ] {
        assert_eq!(
            outcome(&plain_user(), action, &target(admin, false)),
            Outcome::Allow
        );
    }
}

#[test]
fn developer_cannot_delete_project_or_manage_team() {
    let dev = target(Relation::Member(Role::Developer), true);
    assert_eq!(
        outcome(&plain_user(), Action::DeleteProject, &dev),
        Outcome::Denied
    );
    assert_eq!(
        outcome(&plain_user(), Action::ManageTeam, &dev),
        Outcome::Denied
    );
}

#[test]
fn api_key_missing_the_required_scope_is_denied() {
    for &action in Action::ALL {
        let scope = action.required_scope();
        let without: Vec<Scope> = Scope::ALL.iter().copied().filter(|s| *s != scope).collect();
        for platform_admin in [false, true] {
            for &relation in Relation::ALL {
                for is_creator in [true, false] {
                    let t = target(relation, is_creator);
                    let as_user = outcome(&Actor::User(user(platform_admin)), action, &t);
                    let as_key = outcome(&api_key(platform_admin, &without), action, &t);
                    let want = if as_user == Outcome::NotFound {
                        Outcome::NotFound
                    } else {
                        Outcome::Denied
                    };
                    assert_eq!(as_key, want, "{action:?} {relation:?} without {scope}");
                }
            }
        }
    }
}

#[test]
fn api_key_with_the_required_scope_has_its_users_rights() {
    for &action in Action::ALL {
        let scopes = [action.required_scope()];
        for platform_admin in [false, true] {
            for &relation in Relation::ALL {
                for is_creator in [true, false] {
                    let t = target(relation, is_creator);
                    assert_eq!(
                        outcome(&api_key(platform_admin, &scopes), action, &t),
                        outcome(&Actor::User(user(platform_admin)), action, &t),
                        "{action:?} {relation:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn admin_scope_does_not_make_an_ordinary_user_a_platform_admin() {
    let key = api_key(false, Scope::ALL);
    for &action in PLATFORM_ACTIONS {
        assert_eq!(
            outcome(&key, action, &Target::PLATFORM),
            Outcome::Denied,
            "{action:?}"
        );
    }
}

#[test]
fn platform_admins_manage_users_catalog_and_audit_log() {
    for &action in PLATFORM_ACTIONS {
        for &relation in Relation::ALL {
            let t = target(relation, false);
            assert_eq!(
                outcome(&platform_admin(), action, &t),
                Outcome::Allow,
                "{action:?}"
            );
            assert_eq!(
                outcome(&plain_user(), action, &t),
                Outcome::Denied,
                "{action:?}"
            );
        }
        assert_eq!(
            outcome(&platform_admin(), action, &Target::PLATFORM),
            Outcome::Allow
        );
        assert_eq!(
            outcome(&plain_user(), action, &Target::PLATFORM),
            Outcome::Denied
        );
    }
}

#[test]
fn platform_admin_does_not_see_other_tenants_projects() {
    for &action in TENANT_ACTIONS {
        assert_eq!(
            outcome(
                &platform_admin(),
                action,
                &target(Relation::Stranger, false)
            ),
            Outcome::NotFound,
            "{action:?}"
        );
    }
}

#[test]
fn every_user_reads_and_manages_their_own_account_and_reads_the_catalog() {
    for actor in [plain_user(), platform_admin()] {
        for action in [
            Action::ReadOwnAccount,
            Action::ManageOwnAccount,
            Action::ReadCatalog,
        ] {
            assert_eq!(outcome(&actor, action, &Target::PLATFORM), Outcome::Allow);
        }
    }
}

#[test]
fn system_is_allowed_everything() {
    for &relation in Relation::ALL {
        for &action in Action::ALL {
            for is_creator in [true, false] {
                assert!(
                    authorize(&Actor::System, action, &target(relation, is_creator)).is_ok(),
                    "{action:?} {relation:?}"
                );
            }
        }
    }
}

#[test]
fn actor_reports_the_user_behind_it() {
    let u = user(false);
    assert_eq!(Actor::User(u).user_id(), Some(u.id));
    let key = Actor::ApiKey {
        user: u,
        key_id: ApiKeyId::new(),
        scopes: vec![],
    };
    assert_eq!(key.user(), Some(u));
    assert_eq!(Actor::System.user_id(), None);
}

// ---------------------------------------------------------------------------------------------
// Properties

#[derive(Clone, Debug)]
enum ActorKind {
    User {
        platform_admin: bool,
    },
    Key {
        platform_admin: bool,
        scopes: Vec<Scope>,
    },
}

impl ActorKind {
    fn actor(&self) -> Actor {
        match self {
            ActorKind::User { platform_admin } => Actor::User(user(*platform_admin)),
            ActorKind::Key {
                platform_admin,
                scopes,
            } => api_key(*platform_admin, scopes),
        }
    }
}

fn any_scope() -> impl Strategy<Value = Scope> {
    prop::sample::select(Scope::ALL)
}

fn any_actor_kind() -> impl Strategy<Value = ActorKind> {
    prop_oneof![
        any::<bool>().prop_map(|platform_admin| ActorKind::User { platform_admin }),
        (any::<bool>(), prop::collection::vec(any_scope(), 0..10)).prop_map(
            |(platform_admin, scopes)| ActorKind::Key {
                platform_admin,
                scopes
            }
        ),
    ]
}

fn any_action() -> impl Strategy<Value = Action> {
    prop::sample::select(Action::ALL)
}

fn any_relation() -> impl Strategy<Value = Relation> {
    prop::sample::select(Relation::ALL)
}

fn allowed(actor: &Actor, action: Action, relation: Relation, is_creator: bool) -> bool {
    authorize(actor, action, &target(relation, is_creator)).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn viewer_rights_are_within_developer_rights_within_admin_rights(
        kind in any_actor_kind(), action in any_action(), is_creator in any::<bool>()
    ) {
        let actor = kind.actor();
        let stranger = allowed(&actor, action, Relation::Stranger, is_creator);
        let viewer = allowed(&actor, action, Relation::Member(Role::Viewer), is_creator);
        let developer = allowed(&actor, action, Relation::Member(Role::Developer), is_creator);
        let admin = allowed(&actor, action, Relation::Member(Role::Admin), is_creator);
        prop_assert!(!stranger || viewer, "stranger ⊄ viewer for {:?}", action);
        prop_assert!(!viewer || developer, "viewer ⊄ developer for {:?}", action);
        prop_assert!(!developer || admin, "developer ⊄ admin for {:?}", action);
    }

    #[test]
    fn owner_of_a_personal_project_may_do_everything_on_it(
        platform_admin in any::<bool>(),
        action in prop::sample::select(PROJECT_ACTIONS),
        is_creator in any::<bool>(),
    ) {
        let actor = Actor::User(user(platform_admin));
        prop_assert!(allowed(&actor, action, Relation::Owner, is_creator), "{:?}", action);
        // Through a key, as soon as the key has the scope.
        let key = api_key(platform_admin, &[action.required_scope()]);
        prop_assert!(allowed(&key, action, Relation::Owner, is_creator), "{:?}", action);
    }

    #[test]
    fn removing_a_membership_never_adds_a_permission(
        kind in any_actor_kind(),
        action in any_action(),
        relation in any_relation(),
        is_creator in any::<bool>(),
    ) {
        let actor = kind.actor();
        let before = authorize(&actor, action, &target(relation, is_creator));
        let after = authorize(&actor, action, &target(Relation::Stranger, is_creator));
        prop_assert!(after.is_err() || before.is_ok(), "{:?} gained {:?}", relation, action);
        // And a lost tenant permission hides the resource rather than refusing it.
        if action.is_tenant_action() {
            prop_assert_eq!(after.unwrap_err().kind(), ErrorKind::NotFound);
        }
    }

    #[test]
    fn api_key_scopes_only_narrow(
        platform_admin in any::<bool>(),
        scopes in prop::collection::vec(any_scope(), 0..12),
        action in any_action(),
        relation in any_relation(),
        is_creator in any::<bool>(),
    ) {
        let key = api_key(platform_admin, &scopes);
        let plain = Actor::User(user(platform_admin));
        if allowed(&key, action, relation, is_creator) {
            prop_assert!(allowed(&plain, action, relation, is_creator));
            prop_assert!(scopes.contains(&action.required_scope()));
        }
        // Adding scopes never removes a permission.
        let mut more = scopes.clone();
        more.extend_from_slice(Scope::ALL);
        if allowed(&key, action, relation, is_creator) {
            prop_assert!(allowed(&api_key(platform_admin, &more), action, relation, is_creator));
        }
    }

    #[test]
    fn being_the_creator_never_removes_a_permission(
        kind in any_actor_kind(), action in any_action(), relation in any_relation()
    ) {
        let actor = kind.actor();
        if allowed(&actor, action, relation, false) {
            prop_assert!(allowed(&actor, action, relation, true));
        }
    }
}
