//! `worker NAME [--db EP]`: a palm worker whose `function` answers `acknowledged`, like the
//! pylm seed's `MyWorker`. It finds its addresses through the cache (default
//! tcp://127.0.0.1:5559). Also serves `echo` (the payload back), `fail` (always fails,
//! answered `0` as pylm does) and `sleep` (waits the payload's number of milliseconds, then
//! echoes it).

use bytes::Bytes;
use palm::palm::Worker;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else { usage() };
    let mut db = "tcp://127.0.0.1:5559".to_string();
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--db", Some(value)) => db = value,
            _ => usage(),
        }
    }
    Worker::new(&name, &db)
        .function("function", |_, _| Ok(Bytes::from_static(b"acknowledged")))
        .function("echo", |_, payload| Ok(payload))
        .function("fail", |_, _| Err("this function always fails".into()))
        .function("sleep", |_, payload| {
            let ms: u64 = std::str::from_utf8(&payload)?.trim().parse()?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(payload)
        })
        .run()
}

fn usage() -> ! {
    eprintln!("usage: worker NAME [--db EP]");
    std::process::exit(2)
}
