//! Small values people type: durations (`30s`, `10m`), sizes (`512M`, `4G`), `KEY=VALUE`
//! pairs and ports (`8080`, `53/udp`). Each error names the flag it came from.

use std::time::Duration;

use crate::error::CliError;

/// `30s`, `10m`, `2h`, `1d` or a bare number of seconds.
pub fn duration(flag: &str, text: &str) -> Result<Duration, CliError> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let bad = || {
        CliError::usage(
            format!("{flag}: `{text}` is not a duration"),
            "write a number and a unit: 30s, 10m, 2h or 1d",
        )
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3_600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(seconds))
}

/// An idle limit: `never`, or a duration ([`duration`]) in whole `unit_secs`, at least one.
pub fn idle_limit(flag: &str, text: &str, unit_secs: u64) -> Result<Option<i32>, CliError> {
    if text.trim() == "never" {
        return Ok(None);
    }
    let d = duration(flag, text)?;
    let unit = if unit_secs == 60 { "minutes" } else { "hours" };
    let whole = d.as_secs() / unit_secs;
    if whole == 0 || d.as_secs() % unit_secs != 0 {
        return Err(CliError::usage(
            format!("{flag}: `{text}` is not a whole number of {unit}"),
            "write e.g. 15m, 2h, 1d, or never",
        ));
    }
    i32::try_from(whole).map(Some).map_err(|_| {
        CliError::usage(
            format!("{flag}: `{text}` is too long"),
            "write at most a week for --suspend-after and a year for --stop-after, or never",
        )
    })
}

/// A size in MB: `2048` (MB), `512M`, `4G` (GiB taken as 1024 MB).
pub fn megabytes(flag: &str, text: &str) -> Result<i64, CliError> {
    let text = text.trim();
    let bad = || {
        CliError::usage(
            format!("{flag}: `{text}` is not a size"),
            "write megabytes (2048), or a number with M or G (512M, 4G)",
        )
    };
    let upper = text.to_ascii_uppercase();
    let upper = upper.trim_end_matches('B').trim_end_matches('I');
    let (digits, factor) = match upper.strip_suffix('G') {
        Some(d) => (d, 1024),
        None => (upper.strip_suffix('M').unwrap_or(upper), 1),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(factor).filter(|&mb| mb > 0).ok_or_else(bad)
}

/// `KEY=VALUE` (the value may be empty and may hold `=`).
pub fn pair<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str), CliError> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key, value)),
        _ => Err(CliError::usage(
            format!("{flag}: `{text}` is not KEY=VALUE"),
            "write KEY=VALUE, e.g. --var RUST_LOG=debug",
        )),
    }
}

/// A port declaration: `8080` or `8080/tcp` or `53/udp`.
pub fn port(flag: &str, text: &str) -> Result<(u16, bool), CliError> {
    let (number, udp) = match text.split_once('/') {
        Some((n, "udp")) => (n, true),
        Some((n, "tcp")) => (n, false),
        Some(_) => {
            return Err(CliError::usage(
                format!("{flag}: `{text}` has an unknown protocol"),
                "write PORT, PORT/tcp or PORT/udp",
            ));
        }
        None => (text, false),
    };
    match number.parse::<u16>() {
        Ok(n) if n > 0 => Ok((n, udp)),
        _ => Err(CliError::usage(
            format!("{flag}: `{text}` is not a port"),
            "ports are 1 to 65535",
        )),
    }
}

/// A forward: `LOCAL:REMOTE` or `PORT` (both sides the same); LOCAL may be 0.
pub fn forward(text: &str) -> Result<(u16, u16), CliError> {
    let bad = || {
        CliError::usage(
            format!("`{text}` is not LOCAL:REMOTE"),
            "write LOCAL:REMOTE (8080:3000) or PORT (3000)",
        )
    };
    let (local, remote) = match text.split_once(':') {
        Some((l, r)) => (
            l.parse::<u16>().map_err(|_| bad())?,
            r.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = text.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if remote == 0 {
        return Err(bad());
    }
    Ok((local, remote))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_name_the_flag() -> Result<(), CliError> {
        assert_eq!(duration("--since", "10m")?, Duration::from_secs(600));
        assert_eq!(duration("--since", "2h")?, Duration::from_secs(7_200));
        assert_eq!(duration("--since", "45")?, Duration::from_secs(45));
        let Err(e) = duration("--since", "ten") else {
            return Err(CliError::failed("`ten` parsed"));
        };
        assert!(e.to_string().contains("--since"));
        Ok(())
    }

    #[test]
    fn sizes_are_megabytes_with_optional_units() -> Result<(), CliError> {
        assert_eq!(megabytes("--memory", "2048")?, 2048);
        assert_eq!(megabytes("--memory", "512M")?, 512);
        assert_eq!(megabytes("--memory", "4G")?, 4096);
        assert_eq!(megabytes("--memory", "4GiB")?, 4096);
        assert!(megabytes("--memory", "0").is_err());
        assert!(megabytes("--memory", "lots").is_err());
        Ok(())
    }

    #[test]
    fn pairs_split_at_the_first_equals() -> Result<(), CliError> {
        assert_eq!(pair("--var", "A=b=c")?, ("A", "b=c"));
        assert_eq!(pair("--var", "A=")?, ("A", ""));
        assert!(pair("--var", "=x").is_err());
        assert!(pair("--var", "novalue").is_err());
        Ok(())
    }

    #[test]
    fn ports_and_forwards_parse() -> Result<(), CliError> {
        assert_eq!(port("--port", "8080")?, (8080, false));
        assert_eq!(port("--port", "53/udp")?, (53, true));
        assert!(port("--port", "0").is_err());
        assert!(port("--port", "80/sctp").is_err());
        assert_eq!(forward("8080:3000")?, (8080, 3000));
        assert_eq!(forward("3000")?, (3000, 3000));
        assert_eq!(forward("0:3000")?, (0, 3000));
        assert!(forward("3000:0").is_err());
        Ok(())
    }
}
