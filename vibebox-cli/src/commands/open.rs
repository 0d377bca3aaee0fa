//! `vibebox open ENV PORT [--print]`: a one-time preview URL of the app on PORT, opened in the
//! browser (or printed). The URL signs the browser in to that one app, once, within a minute.

use std::io::IsTerminal;

use secrecy::ExposeSecret;

use crate::cli::OpenArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::resolve;

/// Prints the URL, and starts a browser on it unless `--print` (or no display).
pub async fn run(ctx: &Context, args: OpenArgs) -> Result<u8, CliError> {
    let env = resolve::environment_id(&ctx.client, &args.env).await?;
    let preview = ctx.client.open_preview(env, args.port, None).await?;
    ctx.out.print(
        &serde_json::json!({"url": preview.url.expose_secret()}),
        |_| {
            println!("{}", preview.url.expose_secret());
            Ok(())
        },
    )?;
    let display = std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
        || cfg!(target_os = "macos");
    if !args.print && !ctx.out.json && display && std::io::stdout().is_terminal() {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if let Err(e) = std::process::Command::new(opener)
            .arg(preview.url.expose_secret())
            .spawn()
        {
            eprintln!("warning: could not start a browser ({opener}: {e}); open the URL above");
        }
    }
    Ok(0)
}
