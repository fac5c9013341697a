//! `microservice [--name N] [--http ADDR] [--worker-pull EP] [--worker-push EP] [--db EP]
//! [--timeout SECS]`: pylm's microservice seed on palm. Defaults: HTTP 127.0.0.1:8888, worker
//! pull tcp://127.0.0.1:5557, worker push tcp://127.0.0.1:5558, cache tcp://127.0.0.1:5559.
//! With `--with-worker NAME` it also starts a Rust worker (in a thread) whose `function`
//! answers `acknowledged`, so one command serves `curl http://127.0.0.1:8888/function`.

use std::time::Duration;

use bytes::Bytes;
use palm::palm::{MicroserviceConfig, Worker, microservice};

fn main() -> std::io::Result<()> {
    let mut config = MicroserviceConfig::default();
    let mut workers = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else { usage() };
        match flag.as_str() {
            "--name" => config.name = value,
            "--http" => config.http = value,
            "--worker-pull" => config.worker_pull = value,
            "--worker-push" => config.worker_push = value,
            "--db" => config.db = value,
            "--timeout" => {
                config.timeout = Duration::from_secs(value.parse().unwrap_or_else(|_| usage()))
            }
            "--with-worker" => workers.push(value),
            _ => usage(),
        }
    }
    let mut server = microservice(&config)?;
    for part in ["HttpGateway", "WorkerPull", "WorkerPush", "Cache"] {
        println!("{part}: {}", server.address(part).unwrap_or("-"));
    }
    for name in workers {
        let db = config.db.clone();
        std::thread::spawn(move || {
            let worker = Worker::new(&name, &db)
                .function("function", |_, _| Ok(Bytes::from_static(b"acknowledged")));
            if let Err(e) = worker.run() {
                eprintln!("worker {name}: {e}");
            }
        });
    }
    server.run()
}

fn usage() -> ! {
    eprintln!(
        "usage: microservice [--name N] [--http ADDR] [--worker-pull EP] [--worker-push EP] \
         [--db EP] [--timeout SECS] [--with-worker NAME]..."
    );
    std::process::exit(2)
}
