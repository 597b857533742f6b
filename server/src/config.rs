//! Server configuration, parsed once at start-up from flags and environment (see `.env.sample`).
use clap::Args;
use std::{fmt, net::SocketAddr, path::PathBuf};

/// `portcullis serve` options. Every flag can also be set through its environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port; the address actually bound is printed.
    #[arg(long, env = "PORTCULLIS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the server's state (created if missing).
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The built front end (`trunk build --release` writes it); served at `/`.
    #[arg(long, env = "PORTCULLIS_DIST", default_value = "./dist")]
    pub dist: PathBuf,
}

/// Everything the server needs to know, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub dist: PathBuf,
    pub data_source: DataSource,
}

impl Config {
    /// `env` looks up an environment variable (`std::env::var(..).ok()` outside tests).
    pub fn new(args: ServeArgs, env: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            listen: args.listen,
            data_dir: args.data_dir,
            dist: args.dist,
            data_source: DataSource::detect(env),
        }
    }
}

/// Where the server reads Azure resources from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    /// The embedded ARM emulator with its demo tenant: the default, and all tests use it.
    Emulator,
    /// Azure Resource Manager, with a service principal from the environment.
    Azure,
}

impl DataSource {
    /// The service principal variables that switch the server to live Azure.
    pub const AZURE_CREDENTIAL_VARS: [&str; 3] =
        ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"];

    /// `Azure` when every credential variable is set and not empty, else `Emulator`.
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Self {
        let configured = Self::AZURE_CREDENTIAL_VARS
            .iter()
            .all(|name| env(name).is_some_and(|value| !value.trim().is_empty()));
        if configured {
            Self::Azure
        } else {
            Self::Emulator
        }
    }

    /// The name used on the wire (`Health::data_source`) and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emulator => "emulator",
            Self::Azure => "azure",
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn data_source_is_the_emulator_without_a_full_credential() {
        assert_eq!(DataSource::detect(env_of(&[])), DataSource::Emulator);
        let partial = [("AZURE_CLIENT_ID", "id"), ("AZURE_TENANT_ID", "tenant")];
        assert_eq!(DataSource::detect(env_of(&partial)), DataSource::Emulator);
        let blank_secret = [
            ("AZURE_CLIENT_ID", "id"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_CLIENT_SECRET", " "),
        ];
        assert_eq!(
            DataSource::detect(env_of(&blank_secret)),
            DataSource::Emulator
        );
    }

    #[test]
    fn data_source_is_azure_with_a_full_credential() {
        let full = [
            ("AZURE_CLIENT_ID", "id"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_CLIENT_SECRET", "secret"),
        ];
        assert_eq!(DataSource::detect(env_of(&full)), DataSource::Azure);
        assert_eq!(DataSource::Azure.to_string(), "azure");
    }
}
