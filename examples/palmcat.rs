//! palmcat: netcat for ZeroMQ sockets, one message per line.
//!
//! ```text
//! palmcat TYPE (--bind EP | --connect EP)... [--count N] [--echo] [--identity ID]
//!         [--subscribe P]... [--hex]
//! ```
//!
//! TYPE is one of `push pull dealer router req rep pub sub pair`. A message is one line on
//! stdin or stdout, its frames separated by `|`. With `--hex` every frame (and the `--identity`
//! and `--subscribe` arguments) is lowercase hex, so any bytes get through; without it a frame
//! cannot hold `|` or a newline.
//!
//! What each type does:
//! - `push`, `pub`: send each stdin line as a message; exit once stdin ends (or `--count`
//!   lines were sent) and everything was handed to a peer. A line read before any peer is up
//!   waits for one.
//! - `pull`, `sub`: print each message; exit after `--count` messages (never without it).
//!   `sub` subscribes to every `--subscribe` prefix, or to everything when none is given.
//! - `dealer`, `router`, `pair`: send stdin lines and print what arrives; exit after `--count`
//!   received messages, or, without `--count`, once stdin ends and everything was handed to a
//!   peer. A router's first frame is the routing id, on input and on output.
//! - `req`: send each stdin line and print its reply; exit when stdin ends or after `--count`
//!   replies.
//! - `rep`: print each request and reply with the next stdin line; exit when stdin ends or
//!   after `--count` requests.
//! - `--echo` (rep, router, dealer, pair): print each message and send it straight back; stdin
//!   is not read; exit after `--count` messages.
//!
//! The endpoint actually bound (with the real port for `tcp://127.0.0.1:0`) is reported on
//! stderr as `palmcat: bound to EP`. `PALM_LOG=debug` (or `trace`, `info`, `warn`, `error`)
//! prints palm's log on stderr; the default shows warnings, such as a refused peer.
//!
//! How stdin meets the loop: palm is single-threaded and caller-driven, and reading stdin
//! blocks, so a helper thread reads and parses lines into a bounded channel. The main thread
//! owns the socket and polls that channel between loop turns of at most [`POLL`]: a line
//! waits at most that long, and the loop keeps answering heartbeats and taking messages
//! meanwhile. (Handing lines in through `Handle::send` would wake the loop at once, but a
//! message the socket cannot place yet — no peer up — is dropped on that path, and palmcat
//! must keep it.)

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Duration;

use bytes::Bytes;
use palm::socket::Error as SockError;
use palm::{Msg, SendError, Socket, SocketType};

/// The longest a stdin line waits for the loop to look at it.
const POLL: Duration = Duration::from_millis(5);
/// How long one loop turn may last once stdin is closed (or not read).
const IDLE: Duration = Duration::from_millis(100);
/// Parsed lines the reader thread may run ahead of the socket.
const LINE_QUEUE: usize = 1024;

const USAGE: &str = "usage: palmcat TYPE (--bind EP | --connect EP)... [--count N] [--echo] \
                     [--identity ID] [--subscribe P]... [--hex]\n\
                     TYPE: push pull dealer router req rep pub sub pair";

/// The parsed command line.
#[derive(Debug)]
struct Config {
    kind: SocketType,
    binds: Vec<String>,
    connects: Vec<String>,
    count: Option<u64>,
    echo: bool,
    identity: Option<Bytes>,
    subscribe: Vec<Bytes>,
    hex: bool,
}

/// What the program does with its socket, from the type and `--echo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// push, pub: stdin to the socket.
    Send,
    /// pull, sub: the socket to stdout.
    Receive,
    /// dealer, router, pair: both at once.
    Both,
    /// `--echo`: every message back where it came from.
    Echo,
    /// req: a line out, its reply in.
    Request,
    /// rep: a request in, the next line out.
    Reply,
}

fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("palmcat: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("palmcat: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_args(args: &[String]) -> Result<Config, String> {
    let (kind, rest) = args.split_first().ok_or("no socket type given")?;
    let kind = parse_kind(kind)?;
    let mut config = Config {
        kind,
        binds: Vec::new(),
        connects: Vec::new(),
        count: None,
        echo: false,
        identity: None,
        subscribe: Vec::new(),
        hex: false,
    };
    let mut identity = None;
    let mut subscribe = Vec::new();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--bind" => config.binds.push(value()?),
            "--connect" => config.connects.push(value()?),
            "--count" => {
                let v = value()?;
                config.count = Some(v.parse().map_err(|_| format!("bad --count {v:?}"))?);
            }
            "--echo" => config.echo = true,
            "--identity" => identity = Some(value()?),
            "--subscribe" => subscribe.push(value()?),
            "--hex" => config.hex = true,
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if config.binds.is_empty() && config.connects.is_empty() {
        return Err("give at least one --bind or --connect".into());
    }
    let arg_bytes = |s: &str| parse_frame(s.as_bytes(), config.hex);
    config.identity = identity.as_deref().map(arg_bytes).transpose()?;
    config.subscribe = subscribe
        .iter()
        .map(|s| arg_bytes(s))
        .collect::<Result<_, _>>()?;
    if config.echo
        && !matches!(kind, SocketType::Rep | SocketType::Router)
        && !matches!(kind, SocketType::Dealer | SocketType::Pair)
    {
        return Err(format!(
            "--echo needs rep, router, dealer or pair, not {kind}"
        ));
    }
    if !config.subscribe.is_empty() && kind != SocketType::Sub {
        return Err("--subscribe needs a sub socket".into());
    }
    Ok(config)
}

fn parse_kind(name: &str) -> Result<SocketType, String> {
    let known = SocketType::from_name(name.as_bytes());
    known.ok_or_else(|| format!("unknown socket type {name:?}"))
}

fn mode(config: &Config) -> Mode {
    match config.kind {
        _ if config.echo => Mode::Echo,
        SocketType::Push | SocketType::Pub => Mode::Send,
        SocketType::Pull | SocketType::Sub => Mode::Receive,
        SocketType::Req => Mode::Request,
        SocketType::Rep => Mode::Reply,
        _ => Mode::Both,
    }
}

fn run(config: Config) -> Result<(), String> {
    let mut socket = Socket::new(config.kind).map_err(|e| format!("cannot create socket: {e}"))?;
    if let Some(identity) = &config.identity {
        socket.options_mut().identity = identity.clone();
    }
    // Connect first: each connecting endpoint then owns pipe 0, 1, ... (see `Cat::unsent`).
    for ep in &config.connects {
        socket
            .connect(ep)
            .map_err(|e| format!("cannot connect to {ep}: {e}"))?;
    }
    for ep in &config.binds {
        let bound = socket
            .bind(ep)
            .map_err(|e| format!("cannot bind {ep}: {e}"))?;
        eprintln!("palmcat: bound to {bound}");
    }
    if config.kind == SocketType::Sub {
        let all = [Bytes::new()];
        let topics = if config.subscribe.is_empty() {
            &all[..]
        } else {
            &config.subscribe
        };
        for topic in topics {
            socket
                .subscribe(topic)
                .map_err(|e| format!("cannot subscribe: {e}"))?;
        }
    }
    let mode = mode(&config);
    let reads_stdin = !matches!(mode, Mode::Receive | Mode::Echo);
    let lines = reads_stdin.then(|| spawn_reader(config.hex));
    let mut cat = Cat {
        socket,
        connectors: config.connects.len(),
        count: config.count,
        hex: config.hex,
        lines,
        pending: None,
        sent: 0,
        received: 0,
        stdout: io::stdout(),
    };
    match mode {
        Mode::Request => cat.run_request(),
        Mode::Reply => cat.run_reply(),
        _ => cat.run_stream(mode),
    }
    // Dropping `cat` closes the socket, lingering until queued output is written.
}

/// A line from stdin, parsed into a message (or why it could not be).
type Line = Result<Msg, String>;

/// Reads stdin on its own thread; the channel closes at end of input.
fn spawn_reader(hex: bool) -> Receiver<Line> {
    let (tx, rx) = mpsc::sync_channel(LINE_QUEUE);
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(format!("reading stdin: {e}")));
                    return;
                }
            }
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            if tx.send(parse_line(&buf, hex)).is_err() {
                return;
            }
        }
    });
    rx
}

/// Splits a line into frames at `|`, decoding hex frames when asked.
fn parse_line(line: &[u8], hex: bool) -> Line {
    line.split(|&b| b == b'|')
        .map(|frame| parse_frame(frame, hex))
        .collect()
}

fn parse_frame(frame: &[u8], hex: bool) -> Result<Bytes, String> {
    if !hex {
        return Ok(Bytes::copy_from_slice(frame));
    }
    if !frame.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {:?}", lossy(frame)));
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let pairs = frame
        .chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?));
    let bytes: Option<Vec<u8>> = pairs.collect();
    bytes
        .map(Bytes::from)
        .ok_or_else(|| format!("not hex: {:?}", lossy(frame)))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The running program: its socket, stdin lines and counters.
struct Cat {
    socket: Socket,
    /// How many `--connect` endpoints; their pipes are 0..connectors.
    connectors: usize,
    count: Option<u64>,
    hex: bool,
    /// Parsed stdin lines; `None` once stdin ended (or when stdin is not read).
    lines: Option<Receiver<Line>>,
    /// A line no peer had room for yet.
    pending: Option<Msg>,
    sent: u64,
    received: u64,
    stdout: io::Stdout,
}

impl Cat {
    /// push, pub, pull, sub, dealer, router, pair and `--echo`: send and receive as they come.
    fn run_stream(&mut self, mode: Mode) -> Result<(), String> {
        let receives = mode != Mode::Send;
        loop {
            if mode != Mode::Echo && mode != Mode::Receive {
                self.send_lines(mode)?;
            }
            if self.finished(mode) {
                return Ok(());
            }
            let wait = if self.lines.is_some() { POLL } else { IDLE };
            if !receives {
                self.turn(wait)?;
                continue;
            }
            match self.socket.recv_timeout(Some(wait)) {
                Ok(msg) => self.on_message(msg, mode == Mode::Echo)?,
                Err(SockError::TimedOut | SockError::WouldBlock) => {}
                Err(e) => return Err(format!("receive failed: {e}")),
            }
        }
    }

    /// req: each line out, its reply printed.
    fn run_request(&mut self) -> Result<(), String> {
        while !self.count_reached(self.received) {
            let Some(msg) = self.next_line()? else {
                return Ok(());
            };
            self.socket
                .send_timeout(msg, None)
                .map_err(|e| format!("send failed: {e}"))?;
            let reply = self
                .socket
                .recv_timeout(None)
                .map_err(|e| format!("receive failed: {e}"))?;
            self.print(&reply)?;
            self.received += 1;
        }
        Ok(())
    }

    /// rep: each request printed, the next line sent back as its reply.
    fn run_reply(&mut self) -> Result<(), String> {
        while !self.count_reached(self.received) {
            let request = loop {
                match self.socket.recv_timeout(Some(IDLE)) {
                    Ok(msg) => break msg,
                    Err(SockError::TimedOut | SockError::WouldBlock) => {}
                    Err(e) => return Err(format!("receive failed: {e}")),
                }
            };
            self.print(&request)?;
            self.received += 1;
            let Some(reply) = self.next_line()? else {
                return Ok(());
            };
            self.socket
                .send_timeout(reply, None)
                .map_err(|e| format!("send failed: {e}"))?;
        }
        Ok(())
    }

    /// Sends stdin lines until a peer has no room or no line is waiting.
    fn send_lines(&mut self, mode: Mode) -> Result<(), String> {
        loop {
            if mode == Mode::Send && self.count_reached(self.sent) {
                self.lines = None;
                return Ok(());
            }
            let msg = match self.pending.take() {
                Some(msg) => msg,
                None => match self.try_line()? {
                    Some(msg) => msg,
                    None => return Ok(()),
                },
            };
            match self.socket.send(msg) {
                Ok(()) => self.sent += 1,
                Err(SendError {
                    error: SockError::WouldBlock,
                    msg,
                }) => {
                    self.pending = Some(msg);
                    return Ok(());
                }
                Err(e) => return Err(format!("send failed: {e}")),
            }
        }
    }

    /// The next stdin line if one is waiting; `None` also once stdin ended.
    fn try_line(&mut self) -> Result<Option<Msg>, String> {
        let Some(lines) = &self.lines else {
            return Ok(None);
        };
        match lines.try_recv() {
            Ok(line) => line.map(Some),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => {
                self.lines = None;
                Ok(None)
            }
        }
    }

    /// Waits for the next stdin line, turning the loop meanwhile; `None` at end of input.
    fn next_line(&mut self) -> Result<Option<Msg>, String> {
        loop {
            if let Some(msg) = self.try_line()? {
                return Ok(Some(msg));
            }
            if self.lines.is_none() {
                return Ok(None);
            }
            self.turn(POLL)?;
        }
    }

    fn on_message(&mut self, msg: Msg, echo: bool) -> Result<(), String> {
        self.print(&msg)?;
        self.received += 1;
        if echo {
            self.socket
                .send_timeout(msg, None)
                .map_err(|e| format!("echo failed: {e}"))?;
        }
        Ok(())
    }

    fn finished(&mut self, mode: Mode) -> bool {
        match mode {
            Mode::Receive | Mode::Echo => self.count_reached(self.received),
            Mode::Both if self.count.is_some() => self.count_reached(self.received),
            _ => self.lines.is_none() && self.pending.is_none() && self.unsent() == 0,
        }
    }

    fn count_reached(&self, n: u64) -> bool {
        self.count.is_some_and(|c| n >= c)
    }

    /// Messages still queued on connecting endpoints. Those wait for their peer to come up
    /// and closing would not linger for them; queued output on live connections is left to
    /// the linger on close.
    fn unsent(&mut self) -> usize {
        // TODO: this relies on connecting endpoints owning pipes 0..n in a fresh socket;
        // a public "messages queued on all pipes" on `SocketCore` would say it directly.
        let id = self.socket.id();
        let Some(core) = self.socket.reactor().core(id) else {
            return 0;
        };
        (0..self.connectors)
            .filter_map(|pipe| core.pipe(pipe))
            .map(|pipe| pipe.queued_out())
            .sum()
    }

    fn turn(&mut self, wait: Duration) -> Result<(), String> {
        let turned = self.socket.reactor().turn(Some(wait));
        turned.map_err(|e| format!("event loop failed: {e}"))
    }

    /// Writes a message as one line, frames joined by `|`, and flushes.
    fn print(&mut self, msg: &Msg) -> Result<(), String> {
        let mut out = self.stdout.lock();
        let mut line = Vec::with_capacity(msg.size() * if self.hex { 2 } else { 1 } + 8);
        for (i, frame) in msg.frames().iter().enumerate() {
            if i > 0 {
                line.push(b'|');
            }
            if self.hex {
                line.extend(frame.iter().flat_map(|b| hex_pair(*b)));
            } else {
                line.extend_from_slice(frame);
            }
        }
        line.push(b'\n');
        let written = out.write_all(&line).and_then(|()| out.flush());
        written.map_err(|e| format!("writing stdout: {e}"))
    }
}

fn hex_pair(b: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]
}

/// palm's `log` records on stderr, at the level `PALM_LOG` names (default `warn`).
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "palmcat: {} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

fn init_logging() {
    static LOGGER: StderrLog = StderrLog;
    let level = std::env::var("PALM_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(log::LevelFilter::Warn);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
