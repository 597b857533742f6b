//! Sign-in, sessions and roles.
//!
//! Local accounts with argon2id hashes, and people signed in with Entra ID ([`crate::oidc`]). A session is a random token in an HttpOnly,
//! SameSite=Strict cookie (Secure behind TLS); the store keeps only its SHA-256. Every write
//! also needs the session's CSRF token in `X-CSRF-Token`. Failed sign-ins are counted per user
//! name and per address; past the limit sign-in answers 429 with a growing `Retry-After` (16 s,
//! doubling with each further failure, at most 15 minutes), and lets the next attempt in then.
use crate::error::AppError;
use crate::store::Store;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::{request::Parts, HeaderMap, Method};
use portcullis_shared::api::Role;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const COOKIE: &str = "portcullis_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    crate::audit::hex(&b)
}

pub fn token_hash(token: &str) -> String {
    crate::audit::hex(&Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `portcullis hash-password`: reads one line from stdin, prints its hash.
pub fn hash_password_cli() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
        eprintln!("portcullis hash-password: give the password on stdin");
        return ExitCode::from(2);
    }
    match hash_password(line.trim_end_matches(['\r', '\n'])) {
        Ok(h) => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("portcullis hash-password: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Failed sign-ins per key (`user:NAME`, `addr:IP`) in a 15-minute window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const WINDOW: Duration = Duration::from_secs(15 * 60);

/// At most this many keys are remembered: past it, expired entries go first, then the oldest,
/// so a flood of failures from many names or addresses cannot grow the map without bound.
pub const LIMITER_CAPACITY: usize = 10_000;

impl LoginLimiter {
    /// The keys of a sign-in and each one's limit, for `max` failures: the (name, address)
    /// pair at `max`, the address at 3 × `max`, the name alone at 10 × `max`. So one address
    /// failing on a name slows down that pair and then that address, but locks nobody else out
    /// of the name unless the failures come from many places.
    pub fn keys(username: &str, address: &str, max: u32) -> Vec<(String, u32)> {
        let user = username.to_lowercase();
        vec![
            (format!("pair:{user}|{address}"), max),
            (format!("addr:{address}"), max.saturating_mul(3)),
            (format!("user:{user}"), max.saturating_mul(10)),
        ]
    }

    /// How long a key that has failed `n` times (its limit `max`) waits after its last
    /// failure: 16 s at the limit, doubling with each failure past it, at most the window.
    pub fn backoff(n: u32, max: u32) -> Duration {
        let doublings = n.saturating_sub(max).min(16);
        Duration::from_secs(16u64 << doublings).min(WINDOW)
    }

    /// Seconds to wait before another attempt, if any key is over its limit: exactly as long
    /// as the key stays blocked, so a client that honours `Retry-After` gets through then.
    pub fn blocked(&self, keys: &[(String, u32)]) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|(k, max)| map.get(k).map(|e| (e, *max)))
            .filter(|(_, max)| *max > 0)
            .filter_map(|((n, last), max)| {
                let left = Self::backoff(*n, max).checked_sub(last.elapsed())?;
                (*n >= max && !left.is_zero()).then(|| left.as_millis().div_ceil(1000) as u64)
            })
            .max()
    }

    pub fn failed(&self, keys: &[(String, u32)]) -> u32 {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() + keys.len() > LIMITER_CAPACITY {
            map.retain(|_, (_, last)| last.elapsed() < WINDOW);
            while map.len() + keys.len() > LIMITER_CAPACITY {
                let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (_, last))| *last)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                map.remove(&oldest);
            }
        }
        let mut worst = 0;
        for (k, _) in keys {
            let e = map.entry(k.clone()).or_insert((0, Instant::now()));
            if e.1.elapsed() >= WINDOW {
                e.0 = 0;
            }
            e.0 += 1;
            e.1 = Instant::now();
            worst = worst.max(e.0);
        }
        worst
    }

    /// A good sign-in clears its pair and its address (not the name: failures elsewhere stay).
    pub fn succeeded(&self, keys: &[(String, u32)]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (k, _) in keys.iter().filter(|(k, _)| !k.starts_with("user:")) {
            map.remove(k);
        }
    }

    pub fn len(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not one (what a trusted proxy saw). `X-Forwarded-For` from
/// anyone else is ignored. In-process requests (no peer) read the header as a proxy's.
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    trusted_proxies: &[portcullis_shared::net::Cidr],
) -> String {
    let trusted = |ip: std::net::IpAddr| {
        let (family, v) = match ip {
            std::net::IpAddr::V4(a) => {
                (portcullis_shared::net::Family::V4, u128::from(u32::from(a)))
            }
            std::net::IpAddr::V6(a) => (portcullis_shared::net::Family::V6, u128::from(a)),
        };
        trusted_proxies
            .iter()
            .any(|c| c.family == family && c.first() <= v && v <= c.last())
    };
    if let Some(p) = peer {
        if !trusted(p.ip()) {
            return p.ip().to_string();
        }
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !trusted(**ip))
        .or(forwarded.first())
        .map(|ip| ip.to_string())
        .or_else(|| peer.map(|p| p.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// The signed-in user of a request (extractor). Rejects with 401 without a live session and
/// with 403 when a write lacks the CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: i64,
    pub token_hash: String,
    /// Signed in with Entra ID: the person's name and object id.
    pub person: Option<crate::store::SessionPerson>,
}

impl Session {
    /// Who the audit log names: the user name, and for a person signed in with Entra ID also
    /// their name and object id.
    pub fn actor(&self) -> String {
        match &self.person {
            Some(p) => format!("{} ({}, oid {})", self.username, p.name, p.object_id),
            None => self.username.clone(),
        }
    }

    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role; {} has {}",
                role.as_str(),
                self.username,
                self.role.as_str()
            )))
        }
    }
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Constant-time comparison (CSRF tokens).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A session of an operator (or admin): the role is checked before the body is read, so a
/// viewer posting anything to a write endpoint gets 403, never a 400 about the body.
#[derive(Debug, Clone)]
pub struct OperatorSession(pub Session);

/// A session of an admin, checked before the body as [`OperatorSession`] is.
#[derive(Debug, Clone)]
pub struct AdminSession(pub Session);

impl<S> FromRequestParts<S> for OperatorSession
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let s = Session::from_request_parts(parts, state).await?;
        if let Err(e) = s.require(Role::Operator) {
            refused(state, &s.actor(), parts, "forbidden", &e.to_string()).await;
            return Err(e);
        }
        Ok(Self(s))
    }
}

impl<S> FromRequestParts<S> for AdminSession
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let s = Session::from_request_parts(parts, state).await?;
        if let Err(e) = s.require(Role::Admin) {
            refused(state, &s.actor(), parts, "forbidden", &e.to_string()).await;
            return Err(e);
        }
        Ok(Self(s))
    }
}

/// Audits a request that a signed-in person was refused (a write without the role, or without
/// the CSRF token): who, which method and path, why. A failure to audit is logged, and the
/// request is refused all the same.
async fn refused<S>(state: &S, actor: &str, parts: &Parts, outcome: &str, why: &str)
where
    Store: FromRef<S>,
{
    let entry = crate::audit::NewEntry {
        actor: actor.to_string(),
        action: "request.refused".into(),
        // the path as the client sent it (a nested router sees only its own part)
        target: format!(
            "{} {}",
            parts.method,
            parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or(parts.uri.path(), |u| u.0.path())
        ),
        outcome: outcome.into(),
        before: serde_json::Value::Null,
        after: serde_json::Value::Null,
        detail: serde_json::json!({ "reason": why }),
    };
    if let Err(e) = Store::from_ref(state).audit(entry).await {
        tracing::error!(error = %e, "could not audit a refused request");
    }
}

/// Needs only the store (axum's `FromRef`), not the whole application state.
impl<S> FromRequestParts<S> for Session
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if let Some(s) = parts.extensions.get::<Session>() {
            return Ok(s.clone());
        }
        let token = session_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let hash = token_hash(&token);
        let row = Store::from_ref(state)
            .session(&hash)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let writes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if writes {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !same(sent, &row.csrf_token) {
                refused(
                    state,
                    &row.username,
                    parts,
                    "csrfMismatch",
                    "no valid X-CSRF-Token",
                )
                .await;
                return Err(AppError::Csrf);
            }
        }
        let s = Session {
            username: row.username,
            role: row.role,
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
            token_hash: hash,
            person: row.person,
        };
        parts.extensions.insert(s.clone());
        Ok(s)
    }
}

/// The `Set-Cookie` value of a new session (or, with `max_age` 0, of a sign-out).
/// Behind TLS the cookie is `Secure` and `__Host-` prefixed (bound to this host, Path=/, no
/// Domain), so no subdomain or plain-HTTP page can set or overwrite it.
pub fn session_cookie(token: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{}{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        if secure { HOST_PREFIX } else { "" },
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The cookie-name prefix of a `Secure` session cookie.
pub const HOST_PREFIX: &str = "__Host-";

/// The session token from either cookie name (`__Host-` behind TLS).
fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, &format!("{HOST_PREFIX}{COOKIE}"))
        .or_else(|| cookie_value(headers, COOKIE))
}

/// Behind TLS: the config flag, or a proxy's `X-Forwarded-Proto: https`.
pub fn secure_request(headers: &HeaderMap, configured: bool) -> bool {
    configured
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret ", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn limiter_blocks_after_max_failures_and_clears_on_success() {
        let l = LoginLimiter::default();
        let keys = LoginLimiter::keys("alice", "203.0.113.9", 3);
        for _ in 0..3 {
            assert_eq!(l.blocked(&keys), None);
            l.failed(&keys);
        }
        assert!(l.blocked(&keys).is_some(), "the pair is over its limit");
        // someone else, elsewhere, signs in as alice: not locked out by one address's failures
        assert_eq!(
            l.blocked(&LoginLimiter::keys("alice", "198.51.100.1", 3)),
            None
        );
        l.succeeded(&keys);
        assert_eq!(l.blocked(&keys), None);
    }

    #[test]
    fn the_wait_grows_with_each_failure_past_the_limit_and_is_what_retry_after_says() {
        assert_eq!(LoginLimiter::backoff(5, 5), Duration::from_secs(16));
        assert_eq!(LoginLimiter::backoff(6, 5), Duration::from_secs(32));
        assert_eq!(LoginLimiter::backoff(9, 5), Duration::from_secs(256));
        assert_eq!(LoginLimiter::backoff(40, 5), WINDOW, "at most the window");
        let l = LoginLimiter::default();
        let keys = LoginLimiter::keys("bob", "203.0.113.10", 2);
        l.failed(&keys);
        l.failed(&keys);
        let first = l.blocked(&keys).expect("blocked at the limit");
        assert!((15..=16).contains(&first), "{first}");
        l.failed(&keys);
        let second = l.blocked(&keys).expect("still blocked");
        assert!((31..=32).contains(&second), "{second}");
    }

    #[test]
    fn the_limiter_map_stays_bounded() {
        let l = LoginLimiter::default();
        for i in 0..(LIMITER_CAPACITY as u32 / 3 + 500) {
            l.failed(&LoginLimiter::keys(
                &format!("u{i}"),
                &format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
                5,
            ));
        }
        assert!(l.len() <= LIMITER_CAPACITY, "{}", l.len());
    }

    #[test]
    fn client_addresses_come_from_trusted_proxies_only() {
        let proxies = [portcullis_shared::net::Cidr::parse("10.0.0.0/8").unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.7, 10.1.2.3".parse().unwrap());
        let proxy: std::net::SocketAddr = "10.9.9.9:443".parse().unwrap();
        let other: std::net::SocketAddr = "203.0.113.5:443".parse().unwrap();
        assert_eq!(client_address(&h, Some(proxy), &proxies), "198.51.100.7");
        // a client that is not a proxy cannot choose its address by the header
        assert_eq!(client_address(&h, Some(other), &proxies), "203.0.113.5");
        assert_eq!(client_address(&h, Some(proxy), &[]), "10.9.9.9");
    }

    #[test]
    fn cookies_are_httponly_strict_and_secure_behind_tls() {
        let c = session_cookie("t", Duration::from_secs(60), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!session_cookie("t", Duration::from_secs(60), false).contains("Secure"));
        assert!(c.starts_with("__Host-portcullis_session=t; Path=/;"), "{c}");
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "__Host-portcullis_session=abc".parse().unwrap(),
        );
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(secure_request(&h, false));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}

/// The peer address, when the server was started with connect info (tests via `oneshot` are not).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}
