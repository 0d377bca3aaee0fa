//! What commands print: aligned tables for people, `--json` for scripts, and colour only on a
//! terminal that wants it (`NO_COLOR` set to anything turns it off, as <https://no-color.org>
//! asks; so does `TERM=dumb`).

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::error::CliError;

/// How a command prints its result.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// `--json`: the API's JSON, pretty-printed, one document.
    pub json: bool,
    /// Colour on stdout.
    pub colour: bool,
}

impl Output {
    /// Output for this process: colour when stdout is a terminal and nothing says no.
    pub fn detect(json: bool) -> Self {
        Self {
            json,
            colour: colour_wanted(std::io::stdout().is_terminal()),
        }
    }

    /// Prints `value` as JSON when `--json` was given, else calls `human`.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(&Self) -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        if self.json {
            print_json(value)
        } else {
            human(self)
        }
    }

    /// Prints a table with a header row; columns are padded to their widest cell.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        out.write_all(self.render_table(header, rows).as_bytes())?;
        Ok(())
    }

    /// The table as text (what [`Output::table`] prints).
    pub fn render_table(&self, header: &[&str], rows: &[Vec<String>]) -> String {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let mut text = String::new();
        let head: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
        let line = pad(&head, &widths);
        if self.colour {
            text.push_str(&format!("\x1b[1m{line}\x1b[0m\n"));
        } else {
            text.push_str(&line);
            text.push('\n');
        }
        for row in rows {
            text.push_str(&pad(row, &widths));
            text.push('\n');
        }
        text
    }

    /// `key: value` lines, keys aligned (for `show`).
    pub fn fields(&self, fields: &[(&str, String)]) -> Result<(), CliError> {
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = std::io::stdout().lock();
        for (key, value) in fields {
            let key = format!("{key}:");
            if self.colour {
                writeln!(out, "\x1b[1m{key:<w$}\x1b[0m {value}", w = width + 1)?;
            } else {
                writeln!(out, "{key:<w$} {value}", w = width + 1)?;
            }
        }
        Ok(())
    }

    /// `text` in the colour that suits an environment status, when colour is on.
    pub fn status(&self, text: &str) -> String {
        if !self.colour {
            return text.to_owned();
        }
        let code = match text {
            "running" => "32",
            "failed" | "error" => "31",
            "starting" | "stopping" | "creating" | "restarting" => "33",
            _ => return text.to_owned(),
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

fn pad(cells: &[String], widths: &[usize]) -> String {
    let last = cells.len().saturating_sub(1);
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i == last {
            line.push_str(cell);
        } else {
            let w = widths.get(i).copied().unwrap_or(0);
            line.push_str(cell);
            line.push_str(&" ".repeat(w.saturating_sub(cell.chars().count()) + 2));
        }
    }
    line
}

/// Whether to colour a stream that `is_terminal` says is (or is not) a terminal.
pub fn colour_wanted(is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    is_terminal && !no_color && !dumb
}

/// Prints `value` as pretty JSON and a newline.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::failed(format!("cannot encode the result as JSON: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}

/// A time as people read it in a table: `2026-12-03 06:40` (UTC), or "-".
pub fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_align_to_the_widest_cell() {
        let out = Output {
            json: false,
            colour: false,
        };
        let text = out.render_table(
            &["name", "status"],
            &[
                vec!["a".into(), "running".into()],
                vec!["longer-name".into(), "stopped".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME         STATUS");
        assert_eq!(lines[1], "a            running");
        assert_eq!(lines[2], "longer-name  stopped");
    }

    #[test]
    fn no_colour_escape_codes_without_colour() {
        let out = Output {
            json: false,
            colour: false,
        };
        assert_eq!(out.status("running"), "running");
        assert!(!out.render_table(&["a"], &[]).contains('\x1b'));
    }

    #[test]
    fn colour_only_on_a_terminal() {
        assert!(!colour_wanted(false));
    }
}
