//! Engine events about containers.

use std::collections::HashMap;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptionsBuilder;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryFutureExt};
use vibebox_core::error::{Error, Result};
use vibebox_core::runtime::{ContainerId, RuntimeEvent, RuntimeEventKind};

use crate::error;
use crate::runtime::DockerRuntime;

impl DockerRuntime {
    pub(crate) fn event_stream(
        &self,
        labels: &[(String, String)],
    ) -> BoxStream<'static, Result<RuntimeEvent>> {
        let this = self.clone();
        let mut filters: HashMap<String, Vec<String>> =
            HashMap::from([("type".to_string(), vec!["container".to_string()])]);
        if !labels.is_empty() {
            filters.insert(
                "label".to_string(),
                labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            );
        }
        async move {
            let docker = this.client().await?;
            let options = EventsOptionsBuilder::new().filters(&filters).build();
            Ok::<_, Error>(docker.events(Some(options)).filter_map(|item| async move {
                match item {
                    Ok(m) => event(m).map(Ok),
                    Err(e) => Some(Err(error::map("container", e))),
                }
            }))
        }
        .try_flatten_stream()
        .boxed()
    }
}

/// A container event; other event types and events without an id are left out.
fn event(m: EventMessage) -> Option<RuntimeEvent> {
    if m.typ.is_some_and(|t| t != EventMessageTypeEnum::CONTAINER) {
        return None;
    }
    let actor = m.actor?;
    let id = actor.id?;
    let mut labels = actor.attributes.unwrap_or_default();
    let exit_code = labels.get("exitCode").and_then(|c| c.parse().ok());
    let action = m.action.unwrap_or_default();
    // `exec_start: sh -c …` carries a command line; keep only the action's name.
    let name = action
        .split(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let kind = match name.as_str() {
        "create" => RuntimeEventKind::Create,
        "start" => RuntimeEventKind::Start,
        "die" => RuntimeEventKind::Die { exit_code },
        "stop" => RuntimeEventKind::Stop,
        "oom" => RuntimeEventKind::Oom,
        "destroy" => RuntimeEventKind::Destroy,
        "pause" => RuntimeEventKind::Pause,
        "unpause" => RuntimeEventKind::Unpause,
        _ => RuntimeEventKind::Other { action: name },
    };
    // The attributes mix labels with the engine's own keys (image, name, exitCode).
    for key in ["image", "name", "exitCode", "execID", "signal"] {
        labels.remove(key);
    }
    let at = m
        .time_nano
        .map(DateTime::<Utc>::from_timestamp_nanos)
        .or_else(|| m.time.and_then(|s| DateTime::from_timestamp(s, 0)))
        .unwrap_or_else(Utc::now);
    Some(RuntimeEvent {
        container_id: ContainerId(id),
        kind,
        labels: labels.into_iter().collect(),
        at,
    })
}

#[cfg(test)]
mod tests {
    use bollard::models::EventActor;

    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn message(action: &str, attributes: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(EventMessageTypeEnum::CONTAINER),
            action: Some(action.into()),
            actor: Some(EventActor {
                id: Some("abc".into()),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            time_nano: Some(1_700_000_000_123_456_789),
            ..Default::default()
        }
    }

    #[test]
    fn die_carries_the_exit_code_and_labels_without_engine_keys() -> TestResult {
        let e = event(message(
            "die",
            &[
                ("exitCode", "137"),
                ("image", "x"),
                ("vibebox.managed", "true"),
            ],
        ))
        .ok_or("a die event is kept")?;
        assert_eq!(
            e.kind,
            RuntimeEventKind::Die {
                exit_code: Some(137)
            }
        );
        assert_eq!(e.labels.len(), 1);
        assert_eq!(
            e.labels.get("vibebox.managed").map(String::as_str),
            Some("true")
        );
        assert_eq!(e.at.timestamp_subsec_nanos(), 123_456_789);
        Ok(())
    }

    #[test]
    fn pause_and_unpause_have_their_own_kinds() -> TestResult {
        let pause = event(message("pause", &[])).ok_or("a pause event is kept")?;
        assert_eq!(pause.kind, RuntimeEventKind::Pause);
        let unpause = event(message("unpause", &[])).ok_or("an unpause event is kept")?;
        assert_eq!(unpause.kind, RuntimeEventKind::Unpause);
        Ok(())
    }

    #[test]
    fn exec_actions_keep_only_their_name_not_the_command() -> TestResult {
        let e =
            event(message("exec_start: sh -c echo secret", &[])).ok_or("an exec event is kept")?;
        assert_eq!(
            e.kind,
            RuntimeEventKind::Other {
                action: "exec_start".into()
            }
        );
        Ok(())
    }
}
