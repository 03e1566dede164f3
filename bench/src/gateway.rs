//! `serval-bench --gateway`: what API Gateway adds to an invoke. The same warm
//! Rust function is called directly (Lambda `Invoke`) and through an HTTP API
//! route (quick create, payload 2.0), on 1 and 64 keep-alive connections;
//! p50/p99 latency and requests/s of both side by side, and the p50 the
//! gateway adds at one connection (target: under 50 µs). A third row invokes
//! the function directly with the very event the gateway sends it (about
//! 1 KB, against the 70-byte direct payload), which separates the gateway's
//! own work from the function's handling of a larger event.

use super::*;

const GATEWAY_ADDED_MAX_US: f64 = 50.0;
const APIGW_AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=0";

#[derive(Clone, Copy, PartialEq)]
enum Via {
    Direct,
    DirectEvent,
    Gateway,
}

#[derive(Clone)]
struct Route {
    host: String,
    /// The event the gateway sends the function (its echo).
    event: Bytes,
}

async fn once(c: &mut Client, via: Via, route: &Route) -> Result<Duration> {
    let t = Instant::now();
    match via {
        Via::Direct => {
            c.invoke(RUST_FN).await?;
        }
        Via::DirectEvent => {
            c.invoke_with(RUST_FN, route.event.clone()).await?;
        }
        Via::Gateway => {
            let r = c
                .send_as(
                    Method::POST,
                    "/bench",
                    Bytes::from_static(PAYLOAD),
                    &route.host,
                    None,
                )
                .await?;
            if r.status != StatusCode::OK {
                return Err(format!(
                    "gateway answered HTTP {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                )
                .into());
            }
        }
    }
    Ok(t.elapsed())
}

struct Row {
    rate: f64,
    lat: Samples,
}

/// `conc` connections, each sequential, for `duration` after `warmup`.
async fn load(
    addr: SocketAddr,
    via: Via,
    route: &Route,
    conc: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Row> {
    let mut set = tokio::task::JoinSet::new();
    let start = tokio::time::Instant::now();
    let from = start + warmup;
    let end = from + duration;
    for _ in 0..conc {
        let mut c = Client::connect(addr).await?;
        let route = route.clone();
        set.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let d = once(&mut c, via, &route).await?;
                let now = tokio::time::Instant::now();
                if now >= end {
                    return Ok::<Vec<Duration>, Error>(lat);
                }
                if now >= from {
                    lat.push(d);
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r.map_err(|e| format!("load task: {e}"))??);
    }
    Ok(Row {
        rate: all.len() as f64 / duration.as_secs_f64(),
        lat: Samples::new(all, None),
    })
}

/// Sequential latency on one connection each, interleaved in chunks.
async fn paired(addr: SocketAddr, route: &Route, n: usize) -> Result<Vec<Samples>> {
    let vias = [Via::Direct, Via::DirectEvent, Via::Gateway];
    let mut clients = Vec::new();
    for _ in vias {
        clients.push(Client::connect(addr).await?);
    }
    for _ in 0..200 {
        for (c, via) in clients.iter_mut().zip(vias) {
            once(c, via, route).await?;
        }
    }
    let mut samples: Vec<Vec<Duration>> = vias.iter().map(|_| Vec::with_capacity(n)).collect();
    for _ in 0..n / 100 {
        for ((c, via), out) in clients.iter_mut().zip(vias).zip(samples.iter_mut()) {
            for _ in 0..100 {
                out.push(once(c, via, route).await?);
            }
        }
    }
    Ok(samples.into_iter().map(|s| Samples::new(s, None)).collect())
}

pub(crate) fn run_gateway(quick: bool) -> Result<()> {
    let serval_bin = find_bin("SERVAL_BIN", "serval")?;
    let echo_bin = find_bin("RUST_ECHO_BIN", "bootstrap")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut serval = rt.block_on(start_serval(&serval_bin, &[], "gateway"))?;
    let addr = serval.addr;
    let (samples, warmup, duration) = if quick {
        (1_000, Duration::from_millis(300), Duration::from_secs(1))
    } else {
        (5_000, Duration::from_secs(1), Duration::from_secs(4))
    };
    let result = rt.block_on(async {
        step("deploying the rust function and an HTTP API in front of it");
        let mut c = Client::connect(addr).await?;
        let rust_zip = zip_one("bootstrap", &std::fs::read(&echo_bin)?, 0o755)?;
        create_function(&mut c, RUST_FN, "provided.al2023", "bootstrap", &rust_zip).await?;
        check_echo(&mut c, RUST_FN).await?;
        let body = serde_json::json!({
            "name": "bench",
            "protocolType": "HTTP",
            "target": format!("arn:aws:lambda:us-east-1:000000000000:function:{RUST_FN}"),
        });
        let host = c.host.clone();
        let r = c
            .send_as(
                Method::POST,
                "/v2/apis",
                Bytes::from(body.to_string()),
                &host,
                Some(APIGW_AUTH),
            )
            .await?;
        if r.status.as_u16() != 201 {
            return Err(format!(
                "CreateApi: HTTP {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )
            .into());
        }
        let api: serde_json::Value = serde_json::from_slice(&r.body)?;
        let api_id = api["apiId"]
            .as_str()
            .ok_or("CreateApi: no apiId")?
            .to_string();
        let host = format!("{api_id}.execute-api.localhost:{}", addr.port());
        let echo = c
            .send_as(Method::POST, "/bench", Bytes::from_static(PAYLOAD), &host, None)
            .await?;
        if echo.status != StatusCode::OK {
            return Err(format!("gateway answered HTTP {}", echo.status).into());
        }
        let route = Route {
            host,
            event: echo.body,
        };
        step("latency at 1 connection: direct, direct with the gateway's event, gateway; interleaved");
        let mut paired = paired(addr, &route, samples).await?.into_iter();
        let (Some(direct1), Some(event1), Some(gw1)) = (paired.next(), paired.next(), paired.next())
        else {
            return Err("paired latency: missing samples".into());
        };
        let mut rows = Vec::new();
        for conc in [1usize, 64] {
            for via in [Via::Direct, Via::Gateway] {
                step(&format!(
                    "load: {} at {conc} connection(s)",
                    if via == Via::Direct {
                        "direct"
                    } else {
                        "gateway"
                    }
                ));
                rows.push((
                    conc,
                    via,
                    load(addr, via, &route, conc, warmup, duration).await?,
                ));
            }
        }
        Ok::<_, Error>((direct1, event1, gw1, route.event.len(), rows))
    });
    serval.proc.terminate(Duration::from_secs(5));
    let _ = std::fs::remove_file(&serval.log);
    let (direct1, event1, gw1, event_len, rows) = result?;

    println!();
    println!("API Gateway: HTTP API route (quick create, payload 2.0) -> warm Rust function, against direct Invoke");
    println!("{}", "-".repeat(86));
    println!(
        "{:<34} {:>10} {:>10} {:>12}",
        "paired, 1 connection", "p50 µs", "p99 µs", ""
    );
    let row = |name: String, s: &Samples| {
        println!("{name:<34} {:>10.1} {:>10.1}", s.p50_us(), s.p99_us());
    };
    row(
        format!("direct Invoke ({} B payload)", PAYLOAD.len()),
        &direct1,
    );
    row(format!("direct Invoke ({event_len} B event)"), &event1);
    row("through the gateway".to_string(), &gw1);
    let added = gw1.p50_us() - direct1.p50_us();
    println!(
        "{:<34} {:>10.1} {:>10} {:>12}",
        "gateway adds (p50)",
        added,
        "",
        format!(
            "{} < {GATEWAY_ADDED_MAX_US:.0} µs",
            mark(added < GATEWAY_ADDED_MAX_US)
        )
    );
    println!(
        "{:<34} {:>10.1}",
        "  of it, the gateway's own work",
        gw1.p50_us() - event1.p50_us()
    );
    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>12}",
        "under load", "p50 µs", "p99 µs", "req/s"
    );
    for (conc, via, row) in &rows {
        let name = format!(
            "{} @ {conc} conn",
            if *via == Via::Direct {
                "direct Invoke"
            } else {
                "gateway"
            }
        );
        println!(
            "{name:<34} {:>10.1} {:>10.1} {:>12.0}",
            row.lat.p50_us(),
            row.lat.p99_us(),
            row.rate
        );
    }
    for conc in [1usize, 64] {
        let d = rows.iter().find(|r| r.0 == conc && r.1 == Via::Direct);
        let g = rows.iter().find(|r| r.0 == conc && r.1 == Via::Gateway);
        if let (Some(d), Some(g)) = (d, g) {
            println!(
                "gateway/direct throughput @ {conc:<3}   {:>10.2}",
                g.2.rate / d.2.rate.max(1.0)
            );
        }
    }
    Ok(())
}
