//! `master [--name N]`: pylm's `Master` on palm, on the ports of pylm's parallel example
//! (pull 5555, pub 5556, worker pull 5557, worker push 5558, db 5559), so pylm's Python
//! `Client('server', 'tcp://127.0.0.1:5559')` and `Worker`s work against it.

use palm::palm::{MasterConfig, master};

fn main() -> std::io::Result<()> {
    let mut config = MasterConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--name", Some(name)) => config.name = name,
            _ => {
                eprintln!("usage: master [--name N]");
                std::process::exit(2);
            }
        }
    }
    let mut server = master(&config)?;
    for part in ["Pull", "Publisher", "WorkerPull", "WorkerPush", "Cache"] {
        println!("{part}: {}", server.address(part).unwrap_or("-"));
    }
    server.run()
}
