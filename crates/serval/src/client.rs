//! Commands that talk to a running Serval over HTTP (`serval logs`, `serval mail`).

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// Options of `serval logs`.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// Function name.
    function: String,
    /// Keep printing new lines as they arrive.
    #[arg(short, long)]
    follow: bool,
    /// Serval's address.
    #[arg(
        long,
        default_value = "http://127.0.0.1:4566",
        env = "AWS_ENDPOINT_URL"
    )]
    endpoint: String,
    /// Region of the function.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
    /// Account of the function (12 digits).
    #[arg(long, default_value = "000000000000")]
    account: String,
}

async fn get(endpoint: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let uri: http::Uri = format!("{endpoint}{path}").parse()?;
    let host = uri.host().unwrap_or("127.0.0.1").to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("connecting to Serval at {endpoint}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = http::Request::get(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header("host", format!("{host}:{port}"))
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "Serval answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(serde_json::from_slice(&body)?)
}

/// `serval logs <function> [--follow]`.
pub async fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let endpoint = args.endpoint.trim_end_matches('/');
    let mut after: Option<String> = None;
    loop {
        let mut path = format!(
            "/_serval/logs/{}?account={}&region={}&limit=100",
            args.function, args.account, args.region
        );
        if let Some(a) = &after {
            path.push_str("&after=");
            path.push_str(&percent_encode(a));
        }
        let page = get(endpoint, &path).await?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        for e in &events {
            let ts = e["timestamp"].as_u64().unwrap_or(0);
            let msg = e["message"].as_str().unwrap_or("");
            // Runtimes join a multi-line record (a traceback) with \r so it
            // stays one event; a terminal wants newlines.
            println!(
                "{} {}",
                serval_core::time::iso8601(ts),
                msg.replace('\r', "\n")
            );
        }
        if let Some(n) = page["next"].as_str() {
            after = Some(n.to_string());
        }
        if events.is_empty() {
            if !args.follow {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Options of `serval mail`.
#[derive(clap::Args, Debug)]
pub struct MailArgs {
    /// Serval's address.
    #[arg(
        long,
        default_value = "http://127.0.0.1:4566",
        env = "AWS_ENDPOINT_URL"
    )]
    endpoint: String,
    /// Only mail to this address.
    #[arg(long)]
    to: Option<String>,
    /// Print the mails as JSON (one document with a `messages` array).
    #[arg(long)]
    json: bool,
}

/// `serval mail [--to ADDRESS] [--json]`: the local mailbox SNS email
/// subscriptions deliver to (confirmation requests and notifications).
pub async fn mail(args: MailArgs) -> anyhow::Result<()> {
    let endpoint = args.endpoint.trim_end_matches('/');
    let mut path = "/_serval/mail".to_string();
    if let Some(to) = &args.to {
        path.push_str("?to=");
        path.push_str(&percent_encode(to));
    }
    let doc = get(endpoint, &path).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let mails = doc["messages"].as_array().cloned().unwrap_or_default();
    if mails.is_empty() {
        println!("(no mail)");
    }
    for m in &mails {
        let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
        println!(
            "Date: {}",
            serval_core::time::iso8601(m["timestamp"].as_u64().unwrap_or(0))
        );
        println!("From: {}", s("from"));
        println!("To: {}", s("to"));
        println!("Subject: {}", s("subject"));
        println!();
        println!("{}", s("body"));
        println!("{}", "-".repeat(72));
    }
    Ok(())
}
