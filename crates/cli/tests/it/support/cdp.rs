//! Just enough of the Chrome DevTools Protocol to drive Debian's headless Chromium: open
//! a page, evaluate script, click, wait for the next page, take a screenshot.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

fn chromium() -> String {
    std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

impl Browser {
    pub async fn launch() -> Browser {
        Self::launch_with(&[]).await
    }

    /// Like [`Browser::launch`], with `extra` command-line switches (a certificate to
    /// trust, say).
    pub async fn launch_with(extra: &[String]) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--window-size=412,915",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} (scripts/install-test-deps installs it): {e}",
                    chromium()
                )
            });
        let port_file = profile.path().join("DevToolsActivePort");
        let mut port = None;
        for _ in 0..300 {
            if let Ok(s) = std::fs::read_to_string(&port_file)
                && let Some(p) = s.lines().next().and_then(|l| l.parse::<u16>().ok())
            {
                port = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let port = port.expect("Chromium did not open its DevTools port");
        let targets: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target");
        let url = page["webSocketDebuggerUrl"].as_str().unwrap().to_owned();
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut b = Browser {
            child,
            _profile: profile,
            ws,
            next_id: 0,
        };
        b.call("Page.enable", json!({})).await;
        b
    }

    /// Sends one command and waits for its answer, skipping events.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params).await {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}"),
        }
    }

    /// Like [`Browser::call`], but a protocol error is returned, not a panic.
    pub async fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.ws
            .send(Message::Text(
                json!({"id": id, "method": method, "params": params})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("DevTools answered")
                .unwrap()
                .unwrap();
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    return match v.get("error") {
                        Some(e) => Err(e.clone()),
                        None => Ok(v["result"].clone()),
                    };
                }
            }
        }
    }

    pub async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is true (at most 15 s). While a page is being replaced the
    /// old execution context can vanish under an evaluation; that counts as "not yet".
    pub async fn wait_for(&mut self, expr: &str) {
        for _ in 0..150 {
            let r = self
                .try_call(
                    "Runtime.evaluate",
                    json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
                )
                .await;
            if r.is_ok_and(|r| r["result"]["value"] == Value::Bool(true)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = self.text().await;
        panic!("timed out waiting for {expr}; page: {text}");
    }

    pub async fn goto(&mut self, url: &str) {
        self.eval("window.__old = true").await;
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for("!window.__old && document.readyState === 'complete'")
            .await;
    }

    pub async fn fill(&mut self, selector: &str, value: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); e.value = {v}; return true; }})()",
            s = json!(selector),
            v = json!(value)
        );
        assert_eq!(self.eval(&js).await, Value::Bool(true), "{selector}");
    }

    /// Clicks something that does not leave the page (a checkbox, a radio button).
    pub async fn click(&mut self, selector: &str) {
        let js = format!(
            "(() => {{ document.querySelector({s}).click(); return true; }})()",
            s = json!(selector)
        );
        assert_eq!(self.eval(&js).await, Value::Bool(true), "{selector}");
    }

    /// Logs in through the login page (after forgetting any earlier session).
    /// A browser with a virtual passkey authenticator (resident keys, user verification,
    /// presence simulated); returns it and the authenticator's id.
    pub async fn with_authenticator() -> (Browser, String) {
        let mut b = Browser::launch().await;
        b.call("WebAuthn.enable", json!({})).await;
        let added = b
            .call(
                "WebAuthn.addVirtualAuthenticator",
                json!({"options": {"protocol": "ctap2", "transport": "internal",
                    "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true,
                    "automaticPresenceSimulation": true}}),
            )
            .await;
        let id = added["authenticatorId"].as_str().unwrap().to_owned();
        (b, id)
    }

    /// A browser with a virtual authenticator, signed in as `email` at `base`, that has
    /// added a passkey named `name` there.
    pub async fn with_passkey(base: &str, email: &str, password: &str, name: &str) -> Browser {
        let (mut b, _) = Browser::with_authenticator().await;
        b.open_security_page(base, email, password).await;
        b.fill("input[name=name]", name).await;
        b.click_and_wait("#passkey-add").await;
        b
    }

    /// Logs in and opens the security page, ready to add a passkey.
    pub async fn open_security_page(&mut self, base: &str, email: &str, password: &str) {
        self.log_in(base, email, password).await;
        self.goto(&format!("{base}/settings/security")).await;
        self.wait_for("!document.getElementById('passkey-add').hidden")
            .await;
    }

    pub async fn log_in(&mut self, base: &str, email: &str, password: &str) {
        self.clear_cookies().await;
        self.goto(&format!("{base}/login")).await;
        self.fill("input[name=email]", email).await;
        self.fill("input[name=password]", password).await;
        self.click_and_wait("main form button").await;
    }

    /// Clicks and waits for the page that follows.
    pub async fn click_and_wait(&mut self, selector: &str) {
        self.eval("window.__old = true").await;
        let js = format!(
            "(() => {{ document.querySelector({s}).click(); return true; }})()",
            s = json!(selector)
        );
        self.eval(&js).await;
        self.wait_for("!window.__old && document.readyState === 'complete'")
            .await;
    }

    pub async fn text(&mut self) -> String {
        self.eval("document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn url(&mut self) -> String {
        self.eval("location.href")
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn clear_cookies(&mut self) {
        self.call("Network.clearBrowserCookies", json!({})).await;
    }

    pub async fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
