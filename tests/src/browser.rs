//! [`Browser`]: headless Chromium behind its own chromedriver, through fantoccini.
//!
//! Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver` (scripts/setup.sh installs them);
//! `CHROMIUM` and `CHROMEDRIVER` override the paths.
use crate::{target_dir, READY_TIMEOUT};
use fantoccini::{
    elements::Element,
    wd::{Capabilities, WebDriverCompatibleCommand},
    Client, ClientBuilder, Locator,
};
use serde_json::json;
use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
};

/// Flags for a quiet, reproducible headless Chromium on a machine without internet.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// One browser session. Call [`Browser::close`] at the end of a test; if the test panics first,
/// dropping it kills chromedriver and the Chromium it started.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile_dir: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let (driver, port) = start_chromedriver();
        let profile_dir = tempfile::tempdir().expect("temporary Chromium profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| arg.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile_dir.path().display()));
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            // the page's console (and failed loads), read by `console_errors`
            "goog:loggingPrefs": { "browser": "ALL" },
        }))
        .expect("capabilities are a JSON object");
        let mut builder = ClientBuilder::rustls().expect("TLS roots for the WebDriver client");
        let client = builder
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|error| panic!("cannot start a Chromium session: {error}"));
        Self {
            client,
            driver,
            _profile_dir: profile_dir,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }

    /// Waits (up to [`READY_TIMEOUT`]) for the element with `data-testid="{testid}"`.
    pub async fn wait_for_testid(&self, testid: &str) -> Element {
        self.client
            .wait()
            .at_most(READY_TIMEOUT)
            .for_element(Locator::Css(&testid_selector(testid)))
            .await
            .unwrap_or_else(|error| panic!("no element with data-testid={testid:?}: {error}"))
    }

    /// Waits (up to [`READY_TIMEOUT`]) for an element matching a CSS selector (pages that are
    /// not the app's, such as the emulator's account picker).
    pub async fn wait_for_css(&self, selector: &str) -> Element {
        self.client
            .wait()
            .at_most(READY_TIMEOUT)
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|error| panic!("no element matches {selector:?}: {error}"))
    }

    /// The page's URL now.
    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|error| panic!("current URL: {error}"))
    }

    /// The visible text of the element with `data-testid="{testid}"`, once it is there.
    pub async fn text_of_testid(&self, testid: &str) -> String {
        let element = self.wait_for_testid(testid).await;
        element
            .text()
            .await
            .unwrap_or_else(|error| panic!("text of data-testid={testid:?}: {error}"))
    }

    /// Whether an element with `data-testid="{testid}"` is on the page right now.
    pub async fn has_testid(&self, testid: &str) -> bool {
        self.client
            .find(Locator::Css(&testid_selector(testid)))
            .await
            .is_ok()
    }

    /// Clicks the element with `data-testid="{testid}"` once it is there.
    pub async fn click_testid(&self, testid: &str) {
        let element = self.wait_for_testid(testid).await;
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("click data-testid={testid:?}: {error}"));
    }

    /// Types `text` into the input with `data-testid="{testid}"` (after clearing it).
    pub async fn fill_testid(&self, testid: &str, text: &str) {
        let element = self.wait_for_testid(testid).await;
        element.clear().await.ok();
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|error| panic!("type into data-testid={testid:?}: {error}"));
    }

    /// Waits (up to [`READY_TIMEOUT`]) until the text of `data-testid="{testid}"` satisfies
    /// `accept`, and returns it.
    pub async fn wait_for_text(&self, testid: &str, accept: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + READY_TIMEOUT;
        let mut last = String::new();
        while std::time::Instant::now() < deadline {
            if let Ok(element) = self
                .client
                .find(Locator::Css(&testid_selector(testid)))
                .await
            {
                if let Ok(text) = element.text().await {
                    if accept(&text) {
                        return text;
                    }
                    last = text;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("data-testid={testid:?} never had the expected text (last: {last:?})")
    }

    /// Searches the VM table for `name` (`/vms?q=name`) and opens that VM's page by its link.
    pub async fn open_vm(&self, base_url: &str, name: &str) {
        self.goto(&format!("{base_url}/vms?q={name}")).await;
        self.client
            .wait()
            .at_most(READY_TIMEOUT)
            .for_element(Locator::Css(&format!(r#"[data-vm="{name}"] a"#)))
            .await
            .unwrap_or_else(|error| panic!("{name} is not in the VM table: {error}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("open {name}: {error}"));
        self.wait_for_text("vm-name", |t| t.contains(name)).await;
    }

    /// Signs in through the form and waits for the signed-in shell.
    pub async fn sign_in(&self, base_url: &str, username: &str, password: &str) {
        self.goto(&format!("{base_url}/login")).await;
        self.fill_testid("login-username", username).await;
        self.fill_testid("login-password", password).await;
        self.click_testid("login-submit").await;
        self.wait_for_text("current-user", |text| text.contains(username))
            .await;
    }

    /// Runs JavaScript in the page and returns its JSON result.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|error| panic!("script {script:?}: {error}"))
    }

    /// The errors Chromium logged in the page's console since the last call: uncaught
    /// exceptions, `console.error`, failed loads (4xx/5xx) of scripts, styles and fetches.
    /// Reading the browser log empties it.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .unwrap_or_else(|error| panic!("cannot read the browser log: {error}"));
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter_map(|entry| entry["message"].as_str())
            // Chromium notes that trunk's `<link rel=preload ... integrity=...>` for the WASM
            // is preloaded with an integrity attribute that it cannot match against the later
            // fetch: a browser remark about the preload hint, not an error of the app.
            .filter(|message| !(message.contains("preload") && message.contains("integrity")))
            .map(str::to_owned)
            .collect()
    }

    /// Asserts that the page's console has had no errors since the last check (`context`
    /// names the page in the failure).
    pub async fn assert_no_console_errors(&self, context: &str) {
        let errors = self.console_errors().await;
        assert!(
            errors.is_empty(),
            "console errors on {context}:\n  {}",
            errors.join("\n  ")
        );
    }

    /// Resizes the browser window (outer size; the viewport is what `innerWidth` reports).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|error| panic!("resize to {width}x{height}: {error}"));
    }

    /// Saves a PNG of the viewport to `target/screenshots/{name}.png` and returns its path.
    /// Every page a test looks at is screenshotted, so this also asserts that the console had
    /// no errors since the last check ([`Browser::assert_no_console_errors`]).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = self.screenshot_only(name).await;
        self.assert_no_console_errors(name).await;
        path
    }

    /// [`Browser::screenshot`] without the console check.
    pub async fn screenshot_only(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|error| panic!("screenshot {name}: {error}"));
        let dir = target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).expect("create target/screenshots");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Asserts that the console stayed free of errors since the last check, then ends the
    /// session (Chromium exits) and chromedriver.
    pub async fn close(self) {
        self.assert_no_console_errors("the last page").await;
        let client = self.client.clone();
        if let Err(error) = client.close().await {
            eprintln!("closing the browser session: {error}");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver runs in a process group of its own, with Chromium and its helpers:
        // kill the whole group so that nothing outlives the test.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// chromedriver's `POST /session/{id}/se/log {"type": "browser"}`: the console entries since
/// the last read (needs `goog:loggingPrefs`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

fn testid_selector(testid: &str) -> String {
    format!(r#"[data-testid="{testid}"]"#)
}

/// Starts `chromedriver --port=0` and reads the port it chose. A chromedriver that says nothing
/// for [`READY_TIMEOUT`] (seen once on the loaded 2-core machine, with two browsers starting)
/// is killed and started once more; a second silence fails the test.
fn start_chromedriver() -> (Child, u16) {
    match try_start_chromedriver() {
        Ok(started) => started,
        Err(first) => {
            eprintln!("{first}; starting it once more");
            try_start_chromedriver().unwrap_or_else(|second| panic!("{second}"))
        }
    }
}

fn try_start_chromedriver() -> Result<(Child, u16), String> {
    let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let mut driver = Command::new(&program)
        .arg("--port=0")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run {program}: {error} (install it with `make setup`)")
        });
    let stdout = driver.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // "ChromeDriver was started successfully on port 41525."
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                if let (Some(sender), Ok(port)) =
                    (sender.take(), rest.trim_end_matches('.').parse())
                {
                    let _ = sender.send(port);
                }
            }
        }
    });
    match receiver.recv_timeout(READY_TIMEOUT) {
        Ok(port) => Ok((driver, port)),
        Err(_) => {
            let _ = driver.kill();
            let _ = driver.wait();
            Err(format!(
                "{program} did not report its port within {READY_TIMEOUT:?}"
            ))
        }
    }
}
