//! Delivering run events: appended to a JSON-lines file, or POSTed to an HTTP endpoint.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::error::LineageError;
use super::event::RunEvent;

/// How long connecting to an HTTP endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one POST may take, connecting included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The path appended to an endpoint URL given without one (Marquez's and the OpenLineage
/// clients' default).
pub const DEFAULT_ENDPOINT: &str = "api/v1/lineage";
/// The most of an error response's body kept in the error.
const BODY_LIMIT: usize = 512;

/// Where events go. Built once per run from the target option; [`LineageEmitter::emit`] writes
/// one event synchronously (call it outside any async runtime: the HTTP client is blocking).
pub struct LineageEmitter {
    sink: Sink,
}

enum Sink {
    /// JSON lines appended to a file, synced after each event.
    File { path: PathBuf, file: File },
    /// POST to an OpenLineage HTTP endpoint.
    Http { url: Url, shown: String, client: reqwest::blocking::Client, token: Option<String> },
}

impl LineageEmitter {
    /// The emitter for `target`: an `http://` or `https://` URL (a URL without a path gets
    /// [`DEFAULT_ENDPOINT`], e.g. `http://marquez:5000` posts to
    /// `http://marquez:5000/api/v1/lineage`), a `file://` URL, or a local file path (created
    /// with its directories if missing, appended to otherwise).
    pub fn from_target(target: &str) -> Result<LineageEmitter, LineageError> {
        let invalid =
            |reason: &str| LineageError::Target { target: shown(target), reason: reason.to_owned() };
        if target.trim().is_empty() {
            return Err(invalid("the target is empty"));
        }
        match Url::parse(target) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => LineageEmitter::http(url, target),
            Ok(url) if url.scheme() == "file" => {
                let path =
                    url.to_file_path().map_err(|()| invalid("a file:// URL must name an absolute path"))?;
                LineageEmitter::file(&path)
            }
            // A one-letter scheme is a Windows drive; anything else that parses is a URL of a
            // kind events cannot go to.
            Ok(url) if url.scheme().len() > 1 => Err(invalid(&format!(
                "unsupported scheme `{}://`: a lineage target is a file path or an http(s):// URL",
                url.scheme()
            ))),
            _ => LineageEmitter::file(Path::new(target)),
        }
    }

    /// An emitter appending to the file at `path`.
    pub fn file(path: &Path) -> Result<LineageEmitter, LineageError> {
        let open = |source| LineageError::Open { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(open)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(open)?;
        Ok(LineageEmitter { sink: Sink::File { path: path.to_owned(), file } })
    }

    fn http(mut url: Url, target: &str) -> Result<LineageEmitter, LineageError> {
        let invalid = |reason: String| LineageError::Target { target: shown(target), reason };
        if url.query().is_some() || url.fragment().is_some() || url.password().is_some() {
            // A token in the URL would be printed with every error: it belongs in the header.
            return Err(invalid(
                "an endpoint URL must carry no query, fragment or password (pass a token with \
                 with_bearer_token)"
                    .to_owned(),
            ));
        }
        if url.path().trim_matches('/').is_empty() {
            url.set_path(DEFAULT_ENDPOINT);
        }
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        let shown = url.to_string();
        Ok(LineageEmitter { sink: Sink::Http { url, shown, client, token: None } })
    }

    /// This emitter sending `Authorization: Bearer <token>` with each POST (e.g. from
    /// `OPENLINEAGE_API_KEY`); files ignore it. The token is never printed.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> LineageEmitter {
        if let Sink::Http { token: slot, .. } = &mut self.sink {
            *slot = Some(token.into());
        }
        self
    }

    /// Where events go, for logs (no credentials).
    pub fn describe(&self) -> String {
        match &self.sink {
            Sink::File { path, .. } => path.display().to_string(),
            Sink::Http { shown, .. } => shown.clone(),
        }
    }

    /// Delivers `event`: one line appended and synced to disk, or one POST answered with a 2xx
    /// status within [`REQUEST_TIMEOUT`]. An error leaves nothing half-done that a retry
    /// would duplicate, except a POST the endpoint received but did not answer in time.
    pub fn emit(&self, event: &RunEvent) -> Result<(), LineageError> {
        let mut line = event.to_json_line()?;
        match &self.sink {
            Sink::File { path, file } => {
                line.push('\n');
                let write = |source| LineageError::Write { path: path.clone(), source };
                // One write of the whole line: with O_APPEND it lands at the end in one piece.
                let mut handle = file;
                handle.write_all(line.as_bytes()).map_err(write)?;
                file.sync_data().map_err(write)
            }
            Sink::Http { url, shown, client, token } => {
                let mut request = client
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(line);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response =
                    request.send().map_err(|source| LineageError::Http { url: shown.clone(), source })?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                let body = response.text().unwrap_or_default();
                let mut end = body.len().min(BODY_LIMIT);
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                Err(LineageError::Status {
                    url: shown.clone(),
                    status: status.as_u16(),
                    body: body[..end].trim().to_owned(),
                })
            }
        }
    }
}

impl fmt::Debug for LineageEmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = matches!(&self.sink, Sink::Http { token: Some(_), .. });
        f.debug_struct("LineageEmitter")
            .field("target", &self.describe())
            .field("bearer_token", &token)
            .finish()
    }
}

/// `target` for an error message: without a URL's password or query.
fn shown(target: &str) -> String {
    match Url::parse(target) {
        Ok(mut url) if url.scheme().len() > 1 => {
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        _ => target.to_owned(),
    }
}
