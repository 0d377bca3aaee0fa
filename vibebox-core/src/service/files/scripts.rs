//! The shell scripts file operations run inside the container, as the environment's user,
//! and what their exit codes mean.
//!
//! Each runs as `sh -c SCRIPT vibebox-files ARG…`: paths arrive as positional arguments and
//! are never part of the script text. They work with GNU coreutils and findutils (the base
//! image) and with busybox. Entries are printed as records of six NUL-terminated fields:
//! name, type (`f`, `d`, `l`, `p`, `s`, `c`, `b`, as `find -printf %y`), permission bits in
//! octal, size, mtime in seconds (with a fraction on GNU), and the link target (empty unless a
//! symlink).

/// Defines `vb_entry PATH`, which prints the record of one entry (without following a
/// symlink), and sets `vb_gnu` when GNU find is there (one process for a whole listing; the
/// fallback runs `stat` per entry).
const PRELUDE: &str = r#"vb_gnu=
find / -maxdepth 0 -printf '' >/dev/null 2>&1 && vb_gnu=1
vb_entry() {
  if [ -n "$vb_gnu" ]; then
    find "$1" -maxdepth 0 -printf '%f\0%y\0%m\0%s\0%T@\0%l\0'
    return 0
  fi
  if [ -L "$1" ]; then vb_k=l; elif [ -d "$1" ]; then vb_k=d; elif [ -f "$1" ]; then vb_k=f
  elif [ -p "$1" ]; then vb_k=p; elif [ -S "$1" ]; then vb_k=s; elif [ -c "$1" ]; then vb_k=c
  elif [ -b "$1" ]; then vb_k=b; else vb_k=u; fi
  vb_s=$(stat -c '%a %s %Y' -- "$1" 2>/dev/null) || return 0
  vb_t=
  if [ "$vb_k" = l ]; then vb_t=$(readlink -- "$1"; echo .); vb_t=${vb_t%.}; vb_t=${vb_t%?}; fi
  vb_n=${1##*/}
  [ -n "$vb_n" ] || vb_n=/
  set -- $vb_s
  printf '%s\0%s\0%s\0%s\0%s\0%s\0' "$vb_n" "$vb_k" "$1" "$2" "$3" "$vb_t"
}
"#;

/// Lists directory `$1`: the records of its entries, at most `$2` + 1 of them on the
/// fallback path (the caller stops reading past its cap either way).
const LIST: &str = r#"d=$1 cap=$2
[ -e "$d" ] || exit 20
[ -d "$d" ] || exit 23
{ [ -r "$d" ] && [ -x "$d" ]; } || exit 22
cd -- "$d" || exit 22
if [ -n "$vb_gnu" ]; then
  exec find . -mindepth 1 -maxdepth 1 -printf '%f\0%y\0%m\0%s\0%T@\0%l\0'
fi
i=0
for f in * .*; do
  case $f in .|..) continue ;; esac
  [ -e "$f" ] || [ -L "$f" ] || continue
  i=$((i + 1))
  [ "$i" -gt $((cap + 1)) ] && break
  vb_entry "./$f"
done
exit 0
"#;

/// Sends `$1`: follows symlinks to the real path, prints it (NUL-terminated) and the record
/// of what it found, then either the file's bytes or a tar of the directory (which stays on
/// the directory's own file system where tar can be told so). Anything else is refused
/// before a byte is sent.
const DOWNLOAD: &str = r#"p=$1
[ -e "$p" ] || exit 20
r=$(readlink -f -- "$p") && [ -n "$r" ] || exit 22
if [ -d "$r" ]; then
  { [ -r "$r" ] && [ -x "$r" ]; } || exit 22
  one=
  tar --one-file-system -cf /dev/null -T /dev/null >/dev/null 2>&1 && one=--one-file-system
  printf '%s\0' "$r"
  vb_entry "$r"
  [ "$r" = / ] && exec tar $one -C / -cf - .
  d=${r%/*}
  exec tar $one -C "${d:-/}" -cf - -- "${r##*/}"
fi
[ -f "$r" ] || exit 21
[ -r "$r" ] || exit 22
printf '%s\0' "$r"
vb_entry "$r"
exec cat -- "$r"
"#;

/// Writes stdin to `$2` in directory `$1` atomically: into a temporary file beside it, which
/// must then hold exactly `$3` bytes, takes mode `$4` (octal; empty keeps an existing
/// regular file's mode, else 0666 less the umask) and is renamed over the target. Any
/// failure, a signal included, removes the temporary file. A symlink at the target is
/// replaced, never written through. Prints the new file's record.
const UPLOAD: &str = r#"d=$1 t=$2 size=$3 mode=$4
[ -e "$d" ] || exit 25
[ -d "$d" ] || exit 23
[ -d "$t" ] && exit 24
if [ ! -L "$t" ] && [ -e "$t" ] && [ ! -f "$t" ]; then exit 21; fi
{ [ -w "$d" ] && [ -x "$d" ]; } || exit 22
tmp=$(mktemp "$d/.vibebox-upload.XXXXXX") || exit 26
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 129' HUP INT TERM PIPE
cat > "$tmp" || exit 26
[ "$(stat -c %s -- "$tmp")" = "$size" ] || exit 27
if [ -z "$mode" ]; then
  if [ ! -L "$t" ] && [ -f "$t" ]; then mode=$(stat -c %a -- "$t"); fi
  [ -n "$mode" ] || mode=$(printf '%o' $(( 0666 & ~$(umask) )))
fi
chmod "$mode" "$tmp" || exit 26
mv -f -- "$tmp" "$t" || exit 28
trap - EXIT
vb_entry "$t"
"#;

/// `$0` of every script, as `ps` shows it.
pub(super) const SCRIPT_NAME: &str = "vibebox-files";

/// A file operation's script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Script {
    List,
    Download,
    Upload,
}

impl Script {
    /// The whole script: the prelude, then the operation.
    pub(super) fn text(self) -> String {
        let body = match self {
            Script::List => LIST,
            Script::Download => DOWNLOAD,
            Script::Upload => UPLOAD,
        };
        format!("{PRELUDE}{body}")
    }
}

/// What a script's exit code says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// 0.
    Done,
    /// 20: the path does not exist (or a symlink on it dangles).
    Missing,
    /// 21: not a regular file (or, for downloads, directory).
    NotRegular,
    /// 22: the user may not read (or write in) it.
    Denied,
    /// 23: a directory was needed.
    NotDirectory,
    /// 24: the upload's target is a directory.
    IsDirectory,
    /// 25: the upload's directory does not exist.
    ParentMissing,
    /// 26: writing the temporary file failed (a full disk, a read-only file system).
    WriteFailed,
    /// 27: the temporary file does not hold the expected number of bytes.
    SizeMismatch,
    /// 28: the rename over the target failed.
    ReplaceFailed,
    /// 126 or 127: no usable `/bin/sh` (or a tool it needs).
    NoShell,
    /// Anything else, such as a kill.
    Other(i64),
}

impl Outcome {
    pub(super) fn of(code: i64) -> Self {
        match code {
            0 => Self::Done,
            20 => Self::Missing,
            21 => Self::NotRegular,
            22 => Self::Denied,
            23 => Self::NotDirectory,
            24 => Self::IsDirectory,
            25 => Self::ParentMissing,
            26 => Self::WriteFailed,
            27 => Self::SizeMismatch,
            28 => Self::ReplaceFailed,
            126 | 127 => Self::NoShell,
            other => Self::Other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_take_paths_as_arguments_only() {
        for script in [Script::List, Script::Download, Script::Upload] {
            let text = script.text();
            assert!(text.starts_with(PRELUDE), "{script:?}");
            assert!(text.contains("$1"), "{script:?}");
        }
    }

    #[test]
    fn every_documented_exit_code_has_its_outcome() {
        let codes = [
            (0, Outcome::Done),
            (20, Outcome::Missing),
            (21, Outcome::NotRegular),
            (22, Outcome::Denied),
            (23, Outcome::NotDirectory),
            (24, Outcome::IsDirectory),
            (25, Outcome::ParentMissing),
            (26, Outcome::WriteFailed),
            (27, Outcome::SizeMismatch),
            (28, Outcome::ReplaceFailed),
            (127, Outcome::NoShell),
            (137, Outcome::Other(137)),
        ];
        for (code, outcome) in codes {
            assert_eq!(Outcome::of(code), outcome, "{code}");
        }
    }
}
