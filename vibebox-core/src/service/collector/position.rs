//! Where a collector is in a container's output, and which lines of a read are new.
//!
//! The engine stamps each line (microseconds are kept), and a read can only start at a time,
//! so a read from the position sends again the lines stamped exactly at it. The position
//! remembers how many of those it has already taken, and a [`Replay`] skips that many.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::EnvironmentId;
use crate::store::{LogQuery, Store};

/// The last line taken (stored or about to be) and how many lines carry its timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Position {
    /// The greatest timestamp taken; `None` before the first line.
    pub(super) last: Option<Timestamp>,
    /// Lines taken with exactly that timestamp.
    pub(super) at_last: usize,
}

impl Position {
    /// The position after the environment's last stored line.
    pub(super) async fn load(store: &dyn Store, env: EnvironmentId) -> Result<Self> {
        let Some(latest) = store.latest_log(env).await? else {
            return Ok(Self::default());
        };
        let ts = latest.timestamp;
        let mut q = LogQuery::all(env, 10_000);
        q.since = Some(ts);
        q.until = Some(ts + chrono::TimeDelta::microseconds(1));
        let at_last = store.query_logs(&q).await?.items.len().max(1);
        Ok(Self {
            last: Some(ts),
            at_last,
        })
    }

    /// Takes a line stamped `ts`. Lines of stdout and stderr are not ordered against each
    /// other, so an earlier stamp than the last one is taken without moving back.
    pub(super) fn advance(&mut self, ts: Timestamp) {
        match self.last {
            Some(last) if ts == last => self.at_last += 1,
            Some(last) if ts < last => {}
            _ => {
                self.last = Some(ts);
                self.at_last = 1;
            }
        }
    }

    /// The filter for a read that starts at this position.
    pub(super) fn replay(&self) -> Replay {
        Replay {
            since: self.last,
            skip: self.at_last,
        }
    }
}

/// Which lines of one read are new: those after the position it started from.
#[derive(Clone, Copy, Debug)]
pub(super) struct Replay {
    since: Option<Timestamp>,
    skip: usize,
}

impl Replay {
    /// Whether a line stamped `ts` (in the engine's order) was not taken before.
    pub(super) fn is_new(&mut self, ts: Timestamp) -> bool {
        let Some(since) = self.since else {
            return true;
        };
        if ts < since {
            return false;
        }
        if ts == since && self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> Timestamp {
        chrono::DateTime::UNIX_EPOCH + chrono::TimeDelta::microseconds(micros)
    }

    #[test]
    fn a_replay_skips_lines_up_to_the_position_and_those_taken_at_it() {
        let mut p = Position::default();
        for t in [1, 2, 2] {
            p.advance(at(t));
        }
        assert_eq!(p.last, Some(at(2)));
        assert_eq!(p.at_last, 2);
        let mut r = p.replay();
        let new: Vec<bool> = [1, 2, 2, 2, 3]
            .into_iter()
            .map(|t| r.is_new(at(t)))
            .collect();
        assert_eq!(new, [false, false, false, true, true]);
    }

    #[test]
    fn an_earlier_stamp_from_the_other_stream_does_not_move_the_position_back() {
        let mut p = Position::default();
        p.advance(at(5));
        p.advance(at(4));
        assert_eq!((p.last, p.at_last), (Some(at(5)), 1));
    }

    #[test]
    fn without_a_position_every_line_is_new() {
        let mut r = Position::default().replay();
        assert!(r.is_new(at(0)));
    }
}
