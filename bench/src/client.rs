//! The HTTP client the bench measures with, and the functions it creates.

use super::*;

// ------------------------------------------------------------------ client

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Client {
    pub(crate) host: String,
    pub(crate) tx: SendRequest<Full<Bytes>>,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Result<Client> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client {
            host: addr.to_string(),
            tx,
        })
    }

    pub(crate) async fn send(&mut self, method: Method, path: &str, body: Bytes) -> Result<Reply> {
        let host = self.host.clone();
        self.send_as(method, path, body, &host, Some(AUTH)).await
    }

    /// A request with its own `Host` header and `Authorization` (none when `None`).
    pub(crate) async fn send_as(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        host: &str,
        auth: Option<&str>,
    ) -> Result<Reply> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, host)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(a) = auth {
            req = req.header(http::header::AUTHORIZATION, a);
        }
        let req = req.body(Full::new(body))?;
        self.tx.ready().await?;
        let resp = self.tx.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// A JSON API call that must answer `want`.
    pub(crate) async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: serde_json::Value,
        want: u16,
    ) -> Result<Reply> {
        let r = self
            .send(method.clone(), path, Bytes::from(body.to_string()))
            .await?;
        if r.status.as_u16() != want {
            return Err(format!(
                "{method} {path}: HTTP {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )
            .into());
        }
        Ok(r)
    }

    /// One synchronous Invoke of `name`; fails on a function error.
    pub(crate) async fn invoke(&mut self, name: &str) -> Result<Reply> {
        self.invoke_with(name, Bytes::from_static(PAYLOAD)).await
    }

    /// One synchronous Invoke of `name` with `payload`; fails on a function error.
    pub(crate) async fn invoke_with(&mut self, name: &str, payload: Bytes) -> Result<Reply> {
        let r = self.send(Method::POST, &invoke_path(name), payload).await?;
        if r.status != StatusCode::OK || r.headers.contains_key("x-amz-function-error") {
            return Err(format!(
                "invoke {name}: HTTP {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )
            .into());
        }
        Ok(r)
    }
}

pub(crate) fn invoke_path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}/invocations")
}

// ------------------------------------------------------------------ functions

pub(crate) fn zip_one(name: &str, data: &[u8], mode: u32) -> Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(mode);
    w.start_file(name, opts)?;
    w.write_all(data)?;
    Ok(w.finish()?.into_inner())
}

pub(crate) async fn create_function(
    c: &mut Client,
    name: &str,
    runtime: &str,
    handler: &str,
    zip: &[u8],
) -> Result<()> {
    use base64::Engine;
    let body = serde_json::json!({
        "FunctionName": name,
        "Runtime": runtime,
        "Role": ROLE,
        "Handler": handler,
        "Timeout": 30,
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
    });
    c.call(Method::POST, "/2015-03-31/functions", body, 201)
        .await?;
    Ok(())
}

/// Invokes once and checks the function echoed the payload.
pub(crate) async fn check_echo(c: &mut Client, name: &str) -> Result<()> {
    let r = c.invoke(name).await?;
    let got: serde_json::Value = serde_json::from_slice(&r.body)?;
    let want: serde_json::Value = serde_json::from_slice(PAYLOAD)?;
    if got != want {
        return Err(format!("{name} answered {got} instead of echoing {want}").into());
    }
    Ok(())
}
