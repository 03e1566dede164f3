//! `serval serve`: opens the store, starts the services and the edge, and
//! shuts everything down cleanly on SIGINT/SIGTERM.

use anyhow::Context;
use serval_lambda::{Lambda, LambdaConfig, LambdaService};
use serval_store::{Store, SyncMode};
use serval_wire::{Request, Response, Router};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `serval serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "SERVAL_HOST")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 4566, env = "SERVAL_PORT")]
    port: u16,
    /// Where state is kept.
    #[arg(long, default_value = ".serval", env = "SERVAL_DATA_DIR")]
    data_dir: PathBuf,
    /// Keep state in a temporary directory removed at exit.
    #[arg(long)]
    ephemeral: bool,
    /// `normal`: survive a crash of Serval; `full`: survive power loss (fsync per commit).
    #[arg(long, default_value = "normal")]
    sync: String,
    /// Seconds an idle execution environment is kept before it is stopped.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    /// Account-wide concurrency limit per region.
    #[arg(long, default_value_t = 1000)]
    account_concurrency: u32,
    /// Milliseconds between DynamoDB TTL sweeps (AWS takes up to days; this is a few seconds).
    #[arg(long, default_value_t = 5000, env = "SERVAL_DYNAMODB_TTL_INTERVAL_MS")]
    dynamodb_ttl_interval_ms: u64,
    /// Throttle DynamoDB tables in PROVISIONED mode past their read/write capacity
    /// (ProvisionedThroughputExceededException), to exercise retry logic.
    #[arg(long, env = "SERVAL_DYNAMODB_ENFORCE_THROUGHPUT")]
    dynamodb_enforce_throughput: bool,
    /// Largest item collection, in bytes, of a DynamoDB table with local secondary indexes
    /// (ItemCollectionSizeLimitExceededException past it); DynamoDB's limit is 10 GB.
    #[arg(long, default_value_t = 10 << 30, env = "SERVAL_DYNAMODB_ITEM_COLLECTION_LIMIT")]
    dynamodb_item_collection_limit: u64,
    /// Platform seconds that pass per real second, for SQS delays,
    /// visibility timeouts, retention, purge and deduplication windows (long
    /// polls keep real time: they are the client's wait).
    #[arg(long, default_value_t = 1.0, env = "SERVAL_TIME_SCALE")]
    time_scale: f64,
    /// Queue URLs Serval hands out: `host` (`http://sqs.<region>.localhost:<port>/<account>/<name>`)
    /// or `path` (`http://localhost:<port>/<account>/<name>`); both are accepted either way.
    #[arg(long, default_value = "host", env = "SERVAL_SQS_QUEUE_URL")]
    sqs_queue_url: serval_sqs::UrlStyle,
    #[command(flatten)]
    isolation: IsolationArgs,
}

/// How functions are isolated (shared by `serve` and `doctor`).
#[derive(clap::Args, Debug)]
pub struct IsolationArgs {
    /// `auto`: namespaces, cgroups and seccomp where the host allows (Linux,
    /// as root), else plain processes with rlimits; `namespaces`: refuse to
    /// start without them; `process`: plain processes.
    #[arg(long, default_value = "auto", env = "SERVAL_ISOLATION")]
    isolation: serval_sandbox::IsolationMode,
    /// `host`: functions share the host's network (they reach Serval and
    /// loopback services); `none`: only the Runtime API.
    #[arg(long, default_value = "host", env = "SERVAL_FUNCTION_NETWORK")]
    function_network: serval_sandbox::NetworkMode,
}

impl IsolationArgs {
    /// Creates the sandbox backend with its state under `data_dir`.
    pub async fn sandbox(
        &self,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Arc<dyn serval_sandbox::Sandbox>> {
        serval_sandbox::isolation::create(&serval_sandbox::IsolationConfig {
            mode: self.isolation,
            network: self.function_network,
            state_dir: data_dir.join("sandbox"),
        })
        .await
        .map_err(|e| anyhow::anyhow!(e))
    }
}

fn cache_dir(data_dir: &std::path::Path) -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("serval");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("serval");
    }
    data_dir.join("cache")
}

/// Options of `serval doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    isolation: IsolationArgs,
}

/// `serval doctor`: which isolation features this host gives functions, and
/// why the others are missing (it launches one sandboxed process to find out).
pub async fn doctor(args: DoctorArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("serval-doctor-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = args.isolation.sandbox(&dir).await;
    let report = match &result {
        Ok(s) => {
            let text = s.report().to_text();
            s.shutdown();
            Ok(text)
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    };
    drop(result);
    let _ = std::fs::remove_dir_all(&dir);
    print!("{}", report?);
    Ok(())
}

/// Runs the server until a signal arrives.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SERVAL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let started = Instant::now();
    let data_dir = if args.ephemeral {
        std::env::temp_dir().join(format!("serval-{}", serval_core::ids::random_hex(8)))
    } else {
        args.data_dir.clone()
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&data_dir)?;
    let sync = match args.sync.as_str() {
        "full" => SyncMode::Full,
        "normal" => SyncMode::Normal,
        other => anyhow::bail!("--sync must be normal or full, not {other}"),
    };
    let store = Store::open(&data_dir, sync).context("opening the store")?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("listening on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let url_host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let endpoint_url = format!("http://{url_host}:{}", addr.port());
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        anyhow::bail!(
            "--time-scale must be a positive number, not {}",
            args.time_scale
        );
    }
    let clock: Arc<dyn serval_core::Clock> =
        Arc::new(serval_core::ScaledClock::new(args.time_scale));
    let sandbox = args.isolation.sandbox(&data_dir).await?;
    for w in &sandbox.report().warnings {
        tracing::warn!("isolation: {w}");
    }
    let lambda = Lambda::start(
        store.clone(),
        LambdaConfig {
            code_dir: data_dir.join("code"),
            endpoint_url: endpoint_url.clone(),
            account_concurrency: args.account_concurrency,
            idle_timeout: Duration::from_secs(args.idle_timeout),
            runtime_cache: cache_dir(&data_dir),
            sandbox: sandbox.clone(),
            clock: clock.clone(),
        },
    )
    .map_err(|e| anyhow::anyhow!("starting lambda: {e}"))?;

    let events = serval_events::Events::start(
        store.clone(),
        serval_events::EventsConfig {
            clock: clock.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("starting eventbridge: {e}"))?;

    let apigw = serval_apigw::ApiGateway::start(
        store.clone(),
        Arc::new(serval_lambda::invoker::LambdaInvoker(lambda.clone())),
        Some(Arc::new(serval_lambda::invoker::LambdaLogSink(
            lambda.clone(),
        ))),
        serval_apigw::ApigwConfig { port: addr.port() },
    )
    .map_err(|e| anyhow::anyhow!("starting api gateway: {e}"))?;

    let dynamodb = serval_dynamodb::DynamoDb::start(
        store.clone(),
        clock.clone(),
        serval_dynamodb::DynamoConfig {
            port: addr.port(),
            ttl_interval: Duration::from_millis(args.dynamodb_ttl_interval_ms.max(10)),
            enforce_throughput: args.dynamodb_enforce_throughput,
            item_collection_limit: args.dynamodb_item_collection_limit,
        },
    )
    .map_err(|e| anyhow::anyhow!("starting dynamodb: {e}"))?;
    dynamodb.spawn_background();
    lambda.set_stream_reader(Arc::new(serval_dynamodb::streams::StreamAccess(
        dynamodb.clone(),
    )));

    let sqs = serval_sqs::Sqs::start(
        store.clone(),
        clock.clone(),
        serval_sqs::SqsConfig {
            port: addr.port(),
            url_style: args.sqs_queue_url,
        },
    )
    .map_err(|e| anyhow::anyhow!("starting sqs: {e}"))?;
    sqs.spawn_background();
    // How other services reach queues (SNS delivery, Lambda DLQs and
    // destinations, event source mappings); handed to them as they arrive.
    let queues: Arc<dyn serval_core::Queues> = Arc::new(serval_sqs::SqsQueues(sqs.clone()));
    let sns = serval_sns::Sns::start(
        store.clone(),
        clock.clone(),
        serval_sns::SnsConfig {
            endpoint_url: endpoint_url.clone(),
        },
    )
    .map_err(|e| anyhow::anyhow!("starting sns: {e}"))?;
    let event_router: Arc<dyn serval_core::EventSink> = Arc::new(crate::events::EventRouter {
        lambda: lambda.clone(),
        queues: queues.clone(),
        events: events.clone(),
        sns: sns.clone(),
    });
    lambda.set_event_sink(event_router.clone());
    events.set_event_sink(event_router.clone());
    events.spawn_timer();
    sns.set_queues(queues.clone());
    sns.set_event_sink(event_router.clone());
    sns.spawn_background();

    let s3 = serval_s3::S3::start(
        store.clone(),
        clock.clone(),
        serval_s3::S3Config {
            data_dir: data_dir.clone(),
            fsync: sync == SyncMode::Full,
        },
    )
    .map_err(|e| anyhow::anyhow!("starting s3: {e}"))?;
    s3.set_event_sink(event_router);
    s3.spawn_background();
    lambda.set_objects(Arc::new(serval_s3::S3Objects(s3.clone())));
    lambda.set_queues(queues);

    let mut router = Router::new();
    router.register(Arc::new(LambdaService(lambda.clone())));
    router.register(Arc::new(serval_dynamodb::DynamoService(dynamodb)));
    router.register(Arc::new(serval_sqs::SqsService(sqs)));
    // After SQS: an unsigned AddPermission/RemovePermission stays SQS's.
    router.register(Arc::new(serval_sns::SnsService(sns.clone())));
    router.register(Arc::new(serval_events::EventsService(events.clone())));
    router.register(Arc::new(serval_events::SchedulerService(events)));
    router.register(Arc::new(serval_apigw::ManagementService(apigw.clone())));
    router.register(Arc::new(serval_apigw::ExecuteService(apigw)));
    // Last: S3 claims its own host names and otherwise takes what is signed for `s3`.
    router.register(Arc::new(serval_s3::S3Service(s3)));
    let services: Vec<&'static str> = router.service_names();
    let internal_lambda = lambda.clone();
    let isolation = serde_json::to_value(sandbox.report()).unwrap_or_default();
    router.internal(Arc::new(move |req: &Request| {
        internal(req, &internal_lambda, &sns, &services, &isolation, started)
    }));
    let router = Arc::new(router);

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serval_wire::server::serve(listener, router, shutdown_rx));
    eprintln!(
        "Serval {} ready on {endpoint_url} (data: {}{}; isolation: {})",
        env!("CARGO_PKG_VERSION"),
        data_dir.display(),
        if args.ephemeral { ", ephemeral" } else { "" },
        sandbox.report().mode,
    );

    wait_for_signal().await;
    eprintln!("Serval shutting down");
    let _ = shutdown_tx.send(true);
    let _ = server.await;
    lambda.shutdown().await;
    drop(lambda);
    sandbox.shutdown();
    store.close();
    if args.ephemeral {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Serval's own endpoints under `/_serval/`.
fn internal(
    req: &Request,
    lambda: &Lambda,
    sns: &serval_sns::Sns,
    services: &[&str],
    isolation: &serde_json::Value,
    started: Instant,
) -> Response {
    let segs = req.path_segments();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    match seg.as_slice() {
        ["_serval", "health"] => {
            let services: serde_json::Map<String, serde_json::Value> = services
                .iter()
                .map(|s| (s.to_string(), "running".into()))
                .collect();
            Response::json(
                200,
                &serde_json::json!({
                    "status": "running",
                    "version": env!("CARGO_PKG_VERSION"),
                    "services": services,
                    "uptime_seconds": started.elapsed().as_secs_f64(),
                    "isolation": isolation,
                }),
            )
        }
        ["_serval", "code", file] => {
            let hex = file.strip_suffix(".zip").unwrap_or(file);
            match lambda.code_zip(hex) {
                Some(zip) => Response::bytes(200, "application/zip", zip.into()),
                None => {
                    Response::json(404, &serde_json::json!({"message": "no such code package"}))
                }
            }
        }
        ["_serval", "logs"] => {
            let Some(group) = req.query_param("group") else {
                return Response::json(400, &serde_json::json!({"message": "group is required"}));
            };
            let account = req
                .query_param("account")
                .unwrap_or_else(|| serval_core::DEFAULT_ACCOUNT.to_string());
            let region = req
                .query_param("region")
                .unwrap_or_else(|| serval_core::DEFAULT_REGION.to_string());
            let after = req.query_param("after");
            let (events, next) =
                lambda.read_log_group(&account, &region, &group, after.as_deref(), 1_000);
            Response::json(200, &serde_json::json!({ "events": events, "next": next }))
        }
        ["_serval", "logs", function] => {
            let account = req
                .query_param("account")
                .unwrap_or_else(|| serval_core::DEFAULT_ACCOUNT.to_string());
            let region = req
                .query_param("region")
                .unwrap_or_else(|| serval_core::DEFAULT_REGION.to_string());
            let after = req.query_param("after");
            let limit = req
                .query_param("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(100usize)
                .min(1_000);
            let (events, next) =
                lambda.read_logs(&account, &region, function, after.as_deref(), limit);
            if events.is_empty()
                && after.is_none()
                && !lambda.function_exists(&account, &region, function)
            {
                return Response::json(
                    404,
                    &serde_json::json!({"message": format!("Function not found: {function} (account {account}, region {region})")}),
                );
            }
            Response::json(200, &serde_json::json!({ "events": events, "next": next }))
        }
        ["_serval", "mail"] => {
            let to = req.query_param("to");
            let mails = sns.mail(to.as_deref());
            Response::json(200, &serde_json::json!({ "messages": mails }))
        }
        _ => Response::json(404, &serde_json::json!({"message": "not found"})),
    }
}
