//! Out of file descriptors: a listener whose accepts fail (EMFILE) serves the connections
//! left waiting in its backlog once descriptors are free again, although the backlog raises
//! no new readiness edge.
//!
//! The server runs in a child copy of this test binary (`child_http_server`) whose
//! open-files limit is lowered with the shell's `ulimit -n`.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use palm::http::{Limits, Request, Response};
use palm::{Handler, HttpRequestId, Reactor};

/// The child's open-files limit: a few for the loop itself, the rest for connections.
const FD_LIMIT: usize = 32;
/// More clients than the child can hold at once.
const CLIENTS: usize = 2 * FD_LIMIT;
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const ANSWER_END: &[u8] = b"\r\n\r\nok";

/// A client connection and what it has read of its answer so far.
struct Client {
    stream: TcpStream,
    read: Vec<u8>,
    hung_up: bool,
}

impl Client {
    fn answered(&self) -> bool {
        self.read.ends_with(ANSWER_END)
    }

    /// Closes the connection once answered, freeing the server's descriptor.
    fn hang_up_if_answered(&mut self) {
        if self.answered() && !self.hung_up {
            self.hung_up = true;
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }

    /// Reads what has arrived, without waiting.
    fn poll(&mut self) {
        if self.hung_up {
            return;
        }
        let mut buf = [0; 512];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => self.read.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => panic!("client read failed: {e}"),
            }
        }
    }
}

/// Kills the child server when the test ends, however it ends.
struct ChildServer(Child);

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_child() -> (ChildServer, String) {
    let exe = std::env::current_exe().expect("test binary path");
    let script = format!(
        "ulimit -n {FD_LIMIT} && exec \"$0\" --ignored --exact --nocapture child_http_server"
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the child server");
    let stdout = child.stdout.take().expect("child stdout");
    let child = ChildServer(child);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if let Some(addr) = line.strip_prefix("listening on ") {
            return (child, addr.to_string());
        }
    }
    panic!("the child server exited before listening");
}

/// Polls `clients` until no new answer came for `quiet`, or all are answered by `deadline`;
/// with `hang_up`, each client closes its connection once answered.
fn collect_answers(clients: &mut [Client], quiet: Duration, deadline: Instant, hang_up: bool) {
    let mut last_news = Instant::now();
    let mut answered = 0;
    while Instant::now() < deadline && last_news.elapsed() < quiet {
        for client in clients.iter_mut() {
            client.poll();
            if hang_up {
                client.hang_up_if_answered();
            }
        }
        let now_answered = clients.iter().filter(|c| c.answered()).count();
        if now_answered > answered {
            answered = now_answered;
            last_news = Instant::now();
        }
        if answered == clients.len() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn connections_left_in_the_backlog_are_served_once_descriptors_free_up() {
    let (_child, addr) = start_child();
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|_| {
            let mut stream = TcpStream::connect(&addr).expect("connect");
            stream.write_all(REQUEST).expect("send a request");
            stream.set_nonblocking(true).unwrap();
            Client {
                stream,
                read: Vec::new(),
                hung_up: false,
            }
        })
        .collect();

    // The child holds as many keep-alive connections as its descriptors allow.
    let deadline = Instant::now() + Duration::from_secs(30);
    collect_answers(&mut clients, Duration::from_millis(1500), deadline, false);
    let first = clients.iter().filter(|c| c.answered()).count();
    assert!(first > 0, "no client was served at all");
    assert!(
        first < CLIENTS,
        "all {CLIENTS} served at once: the open-files limit of {FD_LIMIT} did not bite"
    );

    // Hanging up frees the child's descriptors; the rest must now be accepted and served,
    // each hanging up in turn to make room for the next.
    clients.retain(|c| !c.answered());
    let waiting = clients.len();
    collect_answers(&mut clients, Duration::from_secs(10), deadline, true);
    let second = clients.iter().filter(|c| c.answered()).count();
    eprintln!("{first} served while out of descriptors; {second} of the {waiting} left after");
    assert_eq!(second, waiting, "connections stuck in the backlog");
}

/// Answers every request with `ok`.
struct SayOk;

impl Handler for SayOk {
    fn on_request(&mut self, reactor: &mut Reactor, id: HttpRequestId, _request: Request) {
        reactor.respond(id, Response::new(200).body(&b"ok"[..]));
    }
}

#[test]
#[ignore = "the server half of the test above, run in a child process"]
fn child_http_server() {
    let mut reactor = Reactor::new().expect("a reactor");
    let (_, addr) = reactor
        .http_bind("127.0.0.1:0", Limits::default())
        .expect("bind");
    println!("listening on {addr}");
    reactor.run(&mut SayOk).expect("the loop runs");
}
