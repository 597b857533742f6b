//! `portcullis serve`: the dashboard (static files from dist/) and the JSON API.
use crate::{config::Config, router::build_router};
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;

pub use crate::config::ServeArgs;

pub fn main(args: ServeArgs) -> ExitCode {
    init_tracing();
    let result = Config::new(args, |name| std::env::var(name).ok()).and_then(|config| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")
            .and_then(|runtime| runtime.block_on(run(config)))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("portcullis serve: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries only the "listening" line), filtered by `RUST_LOG`.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Binds, prints the address, and serves until ctrl-c or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let index = config.dist.join("index.html");
    if !index.is_file() {
        tracing::warn!(
            "{} is missing: the API works, the dashboard does not. Build it with `make build` \
             (trunk build --release) or point --dist at a built front end",
            index.display()
        );
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let data_source = config.data_source;
    tracing::info!(dist = %config.dist.display(), data_dir = %config.data_dir.display(), "starting");
    let state = crate::startup::start(config).await?;
    match &state.emulator_url {
        Some(url) => {
            tracing::info!(%url, "no Azure credential: using the embedded ARM emulator (demo tenant)")
        }
        None => tracing::info!(arm = %state.arm.base_url(), "using Azure Resource Manager"),
    }
    let scheduler =
        crate::scheduler::spawn_scheduler(state.clone(), Arc::new(tokio::sync::Notify::new()));
    let app = build_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Scripts and the end-to-end tests read this line: keep its shape.
    println!("Portcullis listening on http://{addr} (data source: {data_source})");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    scheduler.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM; in-flight requests then finish before the server exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
