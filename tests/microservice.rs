//! The microservice end to end: palm's gateway, cache and workers with real peers — palm
//! workers, unmodified pylm workers, pylm's own Python microservice and pylm's `Client`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use palm::Handle;
use palm::palm::{MasterConfig, MicroserviceConfig, Worker, master, microservice};

const PATIENCE: Duration = Duration::from_secs(20);

/// The project's Python with pylm installed (scripts/python-env.sh makes it once).
fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = Command::new("bash")
            .arg(format!("{root}/scripts/python-env.sh"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python-env.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(
            String::from_utf8(out.stdout)
                .unwrap()
                .trim()
                .lines()
                .last()
                .unwrap(),
        )
    })
}

/// A child process killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pylm(script: &str, args: &[&str]) -> Kill {
    let path = format!("{}/tests/pylm/{script}", env!("CARGO_MANIFEST_DIR"));
    let child = Command::new(python())
        .arg(path)
        .args(args)
        .env("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Kill(child)
}

/// A built example program (cargo test builds examples).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running palm server: its addresses and a handle that stops it when dropped.
struct Running {
    http: String,
    db: String,
    handle: Handle,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn config_on_free_ports() -> MicroserviceConfig {
    MicroserviceConfig {
        http: "127.0.0.1:0".into(),
        worker_pull: "tcp://127.0.0.1:0".into(),
        worker_push: "tcp://127.0.0.1:0".into(),
        db: "tcp://127.0.0.1:0".into(),
        ..MicroserviceConfig::default()
    }
}

fn start_microservice(config: MicroserviceConfig) -> Running {
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let mut server = microservice(&config).unwrap();
        let http = server.address("HttpGateway").unwrap().to_string();
        let db = server.address("Cache").unwrap().to_string();
        tx.send((http, db, server.reactor().handle())).unwrap();
        server.run().unwrap();
    });
    let (http, db, handle) = rx.recv().unwrap();
    Running {
        http,
        db,
        handle,
        thread: Some(thread),
    }
}

fn start_palm_worker(db: &str) -> thread::JoinHandle<()> {
    let db = db.to_string();
    thread::spawn(move || {
        let worker = Worker::new("palm-worker", &db)
            .function("function", |_, _| Ok(Bytes::from_static(b"acknowledged")))
            .function("echo", |_, payload| Ok(payload))
            .function("fail", |_, _| Err("always".into()))
            .function("later", |_, payload| {
                // Gives a pylm client time to subscribe before its answer is published.
                thread::sleep(Duration::from_millis(500));
                Ok(payload)
            })
            .function("slow", |_, _| {
                thread::sleep(Duration::from_secs(3));
                Ok(Bytes::from_static(b"late"))
            });
        let _ = worker.run();
    })
}

/// One HTTP/1.1 request on its own connection: (status, body).
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: palm\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    parse_response(&response)
}

fn parse_response(response: &[u8]) -> (u16, Vec<u8>) {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head")
        + 4;
    let head = String::from_utf8_lossy(&response[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response[end..].to_vec())
}

/// Retries a GET until it gives 200 (workers connect asynchronously).
fn get_when_ready(addr: &str, path: &str) -> Vec<u8> {
    let start = Instant::now();
    loop {
        let (status, body) = match TcpStream::connect(addr) {
            Ok(_) => http(addr, "GET", path, b""),
            Err(_) => (0, Vec::new()),
        };
        if status == 200 {
            return body;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{path}: still {status} after {PATIENCE:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn seed_with_palm_workers() {
    let server = start_microservice(config_on_free_ports());
    assert_eq!(
        http(&server.http, "GET", "/function", b"").0,
        503,
        "no worker yet"
    );
    let _w1 = start_palm_worker(&server.db);
    let _w2 = start_palm_worker(&server.db);
    assert_eq!(get_when_ready(&server.http, "/function"), b"acknowledged");
    assert_eq!(
        http(&server.http, "POST", "/echo", b"payload"),
        (200, b"payload".to_vec())
    );
    assert_eq!(
        http(&server.http, "GET", "/echo?q=1", b""),
        (200, b"No Payload".to_vec())
    );
    assert_eq!(
        http(&server.http, "GET", "/fail", b""),
        (200, b"0".to_vec())
    );
    assert_eq!(http(&server.http, "GET", "/", b"").0, 404);
    let start = Instant::now();
    while !String::from_utf8_lossy(&http(&server.http, "GET", "/-/health", b"").1)
        .contains("workers: 2")
    {
        assert!(start.elapsed() < PATIENCE, "second worker never showed up");
        thread::sleep(Duration::from_millis(100));
    }
    let (status, metrics) = http(&server.http, "GET", "/-/metrics", b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains("palm_http_requests_total{status=\"404\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("palm_workers 2"), "{metrics}");
}

#[test]
fn slow_worker_is_504_at_the_deadline() {
    let config = MicroserviceConfig {
        timeout: Duration::from_secs(1),
        ..config_on_free_ports()
    };
    let server = start_microservice(config);
    let _w = start_palm_worker(&server.db);
    get_when_ready(&server.http, "/function");
    let start = Instant::now();
    assert_eq!(http(&server.http, "GET", "/slow", b"").0, 504);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "504 came at the deadline, not the reply"
    );
}

#[test]
fn unmodified_pylm_worker_serves_palm() {
    let server = start_microservice(config_on_free_ports());
    let _worker = pylm("worker.py", &["pylm-worker", &server.db]);
    assert_eq!(get_when_ready(&server.http, "/function"), b"acknowledged");
    assert_eq!(
        http(&server.http, "POST", "/echo", b"from palm"),
        (200, b"from palm".to_vec())
    );
}

#[test]
fn palm_worker_serves_pylm_microservice() {
    let (http_port, pull, push, db) = (free_port(), free_port(), free_port(), free_port());
    let pull = format!("tcp://127.0.0.1:{pull}");
    let push = format!("tcp://127.0.0.1:{push}");
    let db = format!("tcp://127.0.0.1:{db}");
    let _server = pylm(
        "microservice.py",
        &[&http_port.to_string(), &pull, &push, &db],
    );
    let _worker = start_palm_worker(&db);
    let addr = format!("127.0.0.1:{http_port}");
    assert_eq!(get_when_ready(&addr, "/function"), b"acknowledged");
}

#[test]
fn pylm_client_against_palm_master() {
    let ports: Vec<String> = (0..5)
        .map(|_| format!("tcp://127.0.0.1:{}", free_port()))
        .collect();
    let config = MasterConfig {
        pull: ports[0].clone(),
        publish: ports[1].clone(),
        worker_pull: ports[2].clone(),
        worker_push: ports[3].clone(),
        db: ports[4].clone(),
        ..MasterConfig::default()
    };
    let (tx, rx) = mpsc::channel();
    let master_thread = thread::spawn(move || {
        let mut server = master(&config).unwrap();
        tx.send(server.reactor().handle()).unwrap();
        server.run().unwrap();
    });
    let handle = rx.recv().unwrap();
    let _worker = start_palm_worker(&ports[4]);
    let script = format!("{}/tests/pylm/client.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("timeout")
        .arg("60")
        .arg(python())
        .arg(script)
        .args([&ports[4], "server.later", "hello pylm"])
        .env("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
        .output()
        .unwrap();
    handle.stop();
    master_thread.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = stdout.lines().find_map(|l| l.strip_prefix("RESULT:"));
    assert_eq!(
        result,
        Some("hello pylm"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn killed_worker_loses_no_request() {
    let server = start_microservice(config_on_free_ports());
    let worker = |name: &str| {
        let args = [name, "--db", &server.db];
        Kill(Command::new(example("worker")).args(args).spawn().unwrap())
    };
    let mut w1 = worker("w1");
    let _w2 = worker("w2");
    let start = Instant::now();
    while !String::from_utf8_lossy(&http(&server.http, "GET", "/-/health", b"").1)
        .contains("workers: 2")
    {
        assert!(start.elapsed() < PATIENCE, "workers never connected");
        thread::sleep(Duration::from_millis(50));
    }
    // Each worker serves one request at a time, so both hold a queue of slow requests when
    // one is killed: its share must be sent again to the other.
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let addr = server.http.clone();
            thread::spawn(move || http(&addr, "POST", "/sleep", b"200"))
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    let _ = w1.0.kill();
    let results: Vec<(u16, Vec<u8>)> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        results.iter().all(|(s, b)| *s == 200 && b == b"200"),
        "{results:?}"
    );
    let metrics = String::from_utf8(http(&server.http, "GET", "/-/metrics", b"").1).unwrap();
    let resent = metrics
        .lines()
        .find_map(|l| l.strip_prefix("palm_requests_resent_total "));
    assert!(
        resent.is_some_and(|n| n != "0"),
        "nothing was resent: {metrics}"
    );
}

#[test]
fn workers_come_back_after_master_restart() {
    let (http_port, pull, push, db) = (free_port(), free_port(), free_port(), free_port());
    let config = MicroserviceConfig {
        http: format!("127.0.0.1:{http_port}"),
        worker_pull: format!("tcp://127.0.0.1:{pull}"),
        worker_push: format!("tcp://127.0.0.1:{push}"),
        db: format!("tcp://127.0.0.1:{db}"),
        ..MicroserviceConfig::default()
    };
    let server = start_microservice(config.clone());
    let _worker = start_palm_worker(&server.db);
    assert_eq!(get_when_ready(&server.http, "/function"), b"acknowledged");
    drop(server);
    let server = start_microservice(config);
    assert_eq!(get_when_ready(&server.http, "/function"), b"acknowledged");
}

#[test]
fn reply_part_answers_a_libzmq_req() {
    use palm::palm::{Part, Server};
    let (tx, rx) = mpsc::channel();
    let server_thread = thread::spawn(move || {
        let mut server = Server::new("server").unwrap();
        server.register_bypass(Part::reply("Upper", "tcp://127.0.0.1:0", |mut m| {
            m.payload = Bytes::from(m.payload.to_ascii_uppercase());
            m
        }));
        server.start().unwrap();
        let address = server.address("Upper").unwrap().to_string();
        tx.send((address, server.reactor().handle())).unwrap();
        server.run().unwrap();
    });
    let (address, handle) = rx.recv().unwrap();
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ).unwrap();
    req.set_rcvtimeo(10_000).unwrap();
    req.connect(&address).unwrap();
    let request = palm::palm::message::PalmMessage {
        payload: Bytes::from_static(b"shout"),
        ..Default::default()
    };
    req.send(&request.to_bytes()[..], 0).unwrap();
    let reply =
        palm::palm::message::PalmMessage::decode(req.recv_bytes(0).unwrap().into()).unwrap();
    assert_eq!(&reply.payload[..], b"SHOUT");
    req.send(&b"\xffnot a message"[..], 0).unwrap();
    assert_eq!(
        req.recv_bytes(0).unwrap(),
        b"",
        "an undecodable request gets an empty reply"
    );
    handle.stop();
    server_thread.join().unwrap();
}
