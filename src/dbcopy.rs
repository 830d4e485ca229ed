//! `hero_livekit db copy --from URL --to URL`: moving a deployment's state to another database
//! (SQLite on one machine to PostgreSQL shared by several), for the control plane's database
//! or lk-backend's, whichever the source holds. Run with the services stopped, or from an
//! online backup (`hero_livekit backup`); the copy is verified by reading it back.

use std::fs::{OpenOptions, TryLockError};
use std::path::Path;

use anyhow::{Context, Result, bail};
use hero_livekit_api::redact;

/// What a source database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ControlPlane,
    Backend,
}

fn kind_of(tables: &[String]) -> Option<Kind> {
    let has = |t: &str| tables.iter().any(|x| x == t);
    if has("keys") && has("secrets") {
        Some(Kind::ControlPlane)
    } else if has("events") {
        Some(Kind::Backend)
    } else {
        None
    }
}

/// A control plane that holds its home's lock is using that SQLite file right now.
fn refuse_a_live_sqlite_source(url: &str) -> Result<()> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let lock = Path::new(path.split('?').next().unwrap_or(path))
        .with_file_name(hero_livekit_api::paths::SERVER_LOCK);
    let Ok(file) = OpenOptions::new().read(true).write(true).open(&lock) else {
        return Ok(());
    };
    match file.try_lock() {
        Err(TryLockError::WouldBlock) => bail!(
            "hero_livekit_server is running on {path} (it holds {}): stop it first, or copy \
             from an online backup made with `hero_livekit backup`",
            lock.display()
        ),
        _ => Ok(()),
    }
}

/// Copies and verifies; returns the lines to print (what moved, what to change next).
pub async fn copy(from: &str, to: &str, replace: bool) -> Result<Vec<String>> {
    let (shown_from, shown_to) = (redact::url(from), redact::url(to));
    if from == to {
        bail!("--from and --to are the same database");
    }
    let tables = hero_livekit_server::store_api::tables(from)
        .await
        .with_context(|| format!("reading {shown_from}"))?;
    let kind = kind_of(&tables).with_context(|| {
        format!(
            "{shown_from} holds neither the control plane's state (keys) nor lk-backend's (events)"
        )
    })?;
    let mut out = Vec::new();
    match kind {
        Kind::ControlPlane => {
            refuse_a_live_sqlite_source(from)?;
            let source = hero_livekit_server::Store::open(from)
                .await
                .with_context(|| format!("opening {shown_from}"))?;
            let target = hero_livekit_server::Store::open(to)
                .await
                .with_context(|| format!("opening {shown_to}"))?;
            let r = hero_livekit_server::store_api::copy(&source, &target, replace)
                .await
                .with_context(|| format!("copying to {shown_to}"))?;
            source.close().await;
            target.close().await;
            out.push(format!(
                "copied the control plane's state: {} keys (secrets verified byte for byte), {} generated secrets, {} audit entries, revision {}",
                r.keys, r.secrets, r.audit, r.revision
            ));
            out.push(format!(
                "next: on every control plane set database_url = \"{shown_to}\" (or --database-url / HERO_LIVEKIT_DATABASE_URL), then start it"
            ));
        }
        Kind::Backend => {
            let source = hero_livekit_backend::store::EventStore::open(from)
                .await
                .with_context(|| format!("opening {shown_from}"))?;
            let target = hero_livekit_backend::store::EventStore::open(to)
                .await
                .with_context(|| format!("opening {shown_to}"))?;
            let n = source
                .copy_into(&target, replace)
                .await
                .with_context(|| format!("copying to {shown_to}"))?;
            source.close().await;
            target.close().await;
            out.push(format!(
                "copied lk-backend's inbox: {n} events (counts verified)"
            ));
            out.push(format!(
                "next: on the control plane set backend_database_url = \"{shown_to}\" (it writes DATABASE_URL into backend.env), then restart lk-backend"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_kind_comes_from_its_tables() {
        let t = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            kind_of(&t(&["audit", "keys", "secrets"])),
            Some(Kind::ControlPlane)
        );
        assert_eq!(
            kind_of(&t(&["_sqlx_migrations", "events"])),
            Some(Kind::Backend)
        );
        assert_eq!(kind_of(&t(&["users"])), None);
    }
}
