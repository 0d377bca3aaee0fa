//! The runner every fuzz target uses: proptest's `TestRunner` with a case count that
//! `PROPTEST_CASES` overrides, no regression files, and one summary line per target
//! (`fuzz-target <name>: <n> cases, 0 failures, <s>s`) that `scripts/fuzz` adds up.
//!
//! vibebox-http's fuzz targets include this file too (`#[path]`), so both crates count and
//! report cases the same way.
#![allow(dead_code)]

use std::fmt::Debug;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};

/// The configuration of a target: `default_cases` unless `PROPTEST_CASES` (or another
/// `PROPTEST_*` variable) says otherwise, and no failure files written into the source tree.
///
/// `Config::default()` reads the environment, but an explicit `cases` would override it, so
/// the environment is applied again on top, as proptest's own `proptest!` macro does.
pub fn config(default_cases: u32) -> Config {
    proptest::test_runner::contextualize_config(Config {
        cases: default_cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The stack of the thread a target runs on.
const STACK_BYTES: usize = 64 * 1024 * 1024;

/// Panics seen anywhere in this process since the hook was installed, server tasks included
/// (a panic in a spawned task is otherwise swallowed by its runtime).
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Installs the counting panic hook (once); it still prints through the default hook.
pub fn count_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

/// How many panics the hook has seen.
pub fn panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// Fails the case if any panic happened since `before` (a value of [`panics`]).
pub fn no_panic_since(before: usize) -> TestCaseResult {
    let now = panics();
    if now == before {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "{} panic(s) during this case (see the panic message above)",
            now - before
        )))
    }
}

/// Runs `test` on values of the strategy `make` builds for the configured number of cases,
/// shrinking a failure to its smallest input, and prints the target's summary line.
///
/// The target runs on a thread of its own with a large stack: deep strategies keep big value
/// trees on the stack in debug builds (a test thread has 2 MiB). The strategy is built on that
/// thread, so it need not be `Send`.
///
/// # Panics
///
/// When a case fails, with the minimal failing input.
pub fn fuzz<S, M, T>(name: &str, default_cases: u32, make: M, test: T)
where
    S: Strategy,
    S::Value: Debug,
    M: FnOnce() -> S + Send,
    T: Fn(S::Value) -> TestCaseResult + Sync,
{
    count_panics();
    let config = config(default_cases);
    let cases = config.cases;
    let started = Instant::now();
    let result = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(format!("fuzz-{name}"))
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, || {
                TestRunner::new(config)
                    .run(&make(), &test)
                    .map_err(|e| e.to_string())
            })
            .expect("a thread for the target")
            .join()
    });
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(Ok(())) => eprintln!("fuzz-target {name}: {cases} cases, 0 failures, {seconds:.1}s"),
        Ok(Err(e)) => {
            eprintln!("fuzz-target {name}: {cases} cases, 1 failure, {seconds:.1}s");
            panic!("fuzz target {name} failed: {e}");
        }
        Err(panic) => {
            eprintln!("fuzz-target {name}: {cases} cases, 1 failure, {seconds:.1}s");
            std::panic::resume_unwind(panic)
        }
    }
}

/// One edit of a string: the building block of the mutation strategies.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Replace the byte at (index mod len) with this byte (as a char when not ASCII-safe).
    Replace(usize, u8),
    /// Remove the char at (index mod len).
    Delete(usize),
    /// Insert this char before (index mod (len + 1)).
    Insert(usize, char),
    /// Keep only the first (index mod (len + 1)) bytes.
    Truncate(usize),
    /// Repeat the string's tail from (index mod len) once more.
    Duplicate(usize),
}

/// Any edit, with printable, control, separator and non-ASCII characters.
pub fn edit() -> impl Strategy<Value = Edit> {
    use proptest::prelude::*;
    let interesting = prop_oneof![
        any::<char>(),
        proptest::sample::select(vec![
            '\0', '\n', '\r', '\t', ' ', '.', '_', '-', ':', '/', '@', '=', ';', '"', '\\', '%',
            '+', '{', '}', '[', ']', ',', 'é', '\u{202e}', '\u{feff}', '０', '٣',
        ]),
    ];
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        2 => any::<usize>().prop_map(Edit::Delete),
        2 => (any::<usize>(), interesting).prop_map(|(i, c)| Edit::Insert(i, c)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => any::<usize>().prop_map(Edit::Duplicate),
    ]
}

/// Applies an edit at a char boundary. The result may equal the input (replacing a byte
/// with itself); [`mutate_distinct`] avoids that.
pub fn apply(s: &str, edit: &Edit) -> String {
    let boundaries: Vec<usize> = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()))
        .collect();
    let chars = boundaries.len() - 1;
    let mut out = s.to_string();
    match *edit {
        Edit::Replace(i, b) if chars > 0 => {
            let at = boundaries[i % chars];
            let end = boundaries[i % chars + 1];
            out.replace_range(at..end, char::from(b).encode_utf8(&mut [0; 4]));
        }
        Edit::Delete(i) if chars > 0 => {
            let at = boundaries[i % chars];
            let end = boundaries[i % chars + 1];
            out.replace_range(at..end, "");
        }
        Edit::Insert(i, c) => out.insert(boundaries[i % (chars + 1)], c),
        Edit::Truncate(i) => out.truncate(boundaries[i % (chars + 1)]),
        Edit::Duplicate(i) if chars > 0 => {
            let tail = s[boundaries[i % chars]..].to_string();
            out.push_str(&tail);
        }
        _ => {}
    }
    out
}

/// Applies the edits in turn.
pub fn apply_all(s: &str, edits: &[Edit]) -> String {
    edits.iter().fold(s.to_string(), |acc, e| apply(&acc, e))
}

/// One edit that changes the string: a replacement by a different ASCII byte, a deletion, or
/// an insertion (for the "any single-byte change is rejected" oracles).
pub fn mutate_distinct(s: &str, at: usize, kind: u8, byte: u8) -> String {
    let len = s.len();
    match (kind % 3, len) {
        (_, 0) | (2, _) => {
            let mut out = s.to_string();
            let at = floor_boundary(s, at % (len + 1));
            out.insert(at, char::from(byte & 0x7f));
            out
        }
        (0, _) => {
            // Replace one byte of an ASCII string with a different ASCII byte.
            let mut bytes = s.as_bytes().to_vec();
            let i = at % len;
            let mut b = byte & 0x7f;
            if b == bytes[i] {
                b = (b + 1) & 0x7f;
            }
            bytes[i] = b;
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
        _ => {
            let mut out = s.to_string();
            let at = floor_boundary(s, at % len);
            out.remove(at);
            out
        }
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
