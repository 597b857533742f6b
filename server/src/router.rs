//! Every route of the server, in one place.
use crate::{
    handlers::{self, health},
    state::AppState,
};
use axum::{
    extract::{MatchedPath, Request},
    routing::get,
    Router,
};
use tower_http::{
    services::{ServeDir, ServeFile},
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

pub fn build_router(state: AppState) -> Router {
    let api = Router::new()
        // health and version
        .route("/health", get(health::get_health))
        // unknown API paths answer JSON, not the front end
        .fallback(handlers::api_not_found);

    // The front end: files from dist/, and index.html for any other path so that deep links
    // (`/vms/...`) load the app, whose router then shows the page or its own "not found".
    let dist = &state.config.dist;
    let front_end = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));

    Router::new()
        .nest("/api", api)
        .route("/healthz", get(health::get_healthz))
        .fallback_service(front_end)
        // one span per request, named by its route pattern (`/api/vms/{id}`), not its raw path
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let matched_path = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str);
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        matched_path,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, DataSource};
    use axum::{
        body::{to_bytes, Body},
        http::{header, StatusCode},
        response::Response,
    };
    use portcullis_shared::api::Health;
    use tower::ServiceExt;

    /// A router over a temporary dist/ holding a marked index.html and one asset.
    struct TestApp {
        router: Router,
        _dist: tempfile::TempDir,
    }

    impl TestApp {
        fn new(data_source: DataSource) -> Self {
            let dist = tempfile::tempdir().expect("temp dist");
            std::fs::write(dist.path().join("index.html"), "<!-- test index -->").unwrap();
            std::fs::write(dist.path().join("app.css"), "body{}").unwrap();
            let config = Config {
                listen: "127.0.0.1:0".parse().unwrap(),
                data_dir: dist.path().join("data"),
                dist: dist.path().to_owned(),
                data_source,
            };
            Self {
                router: build_router(AppState::new(config)),
                _dist: dist,
            }
        }

        async fn get(&self, uri: &str) -> Response {
            let request = Request::get(uri).body(Body::empty()).unwrap();
            self.router.clone().oneshot(request).await.unwrap()
        }
    }

    async fn body_text(response: Response) -> String {
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn api_health_reports_version_and_data_source() {
        let app = TestApp::new(DataSource::Emulator);
        let response = app.get("/api/health").await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()[header::CONTENT_TYPE].clone();
        assert_eq!(content_type, "application/json");
        let health: Health = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(
            health,
            Health {
                status: "ok".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                data_source: "emulator".into(),
            }
        );

        let app = TestApp::new(DataSource::Azure);
        let body = body_text(app.get("/api/health").await).await;
        assert!(body.contains(r#""dataSource":"azure""#), "{body}");
    }

    #[tokio::test]
    async fn healthz_is_plain_ok() {
        let response = TestApp::new(DataSource::Emulator).get("/healthz").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, "ok");
    }

    #[tokio::test]
    async fn deep_links_fall_back_to_index_html() {
        let app = TestApp::new(DataSource::Emulator);
        for uri in ["/", "/vms/vm-1", "/some/deep/link?tab=rules"] {
            let response = app.get(uri).await;
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            assert_eq!(body_text(response).await, "<!-- test index -->", "{uri}");
        }
        let response = app.get("/app.css").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, "body{}");
    }

    #[tokio::test]
    async fn unknown_api_paths_are_json_404s() {
        let response = TestApp::new(DataSource::Emulator).get("/api/nope").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(body["error"]["code"], "NotFound");
        assert_eq!(body["error"]["message"], "no API route for /api/nope");
    }
}
