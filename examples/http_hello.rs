//! `http_hello [--listen ADDR]`: answers every HTTP request with 200 and the body
//! `METHOD TARGET LEN` (LEN: the decoded request body's length). Used for conformance and
//! load tests of palm's HTTP server; default address 127.0.0.1:8080.

use std::io::Write;

use palm::http::{Limits, Request, Response};
use palm::{Handler, HttpRequestId, Reactor};

/// Answers at once with what it saw.
struct Hello {
    body: Vec<u8>,
}

impl Handler for Hello {
    fn on_request(&mut self, reactor: &mut Reactor, id: HttpRequestId, request: Request) {
        self.body.clear();
        let len = request.body().len();
        let _ = write!(self.body, "{} {} {len}", request.method(), request.target());
        let response = Response::new(200)
            .content_type("text/plain")
            .body(self.body.clone());
        reactor.respond(id, response);
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:8080".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => listen = addr,
            _ => {
                eprintln!("usage: http_hello [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let mut reactor = Reactor::new()?;
    let (_, bound) = reactor.http_bind(&listen, Limits::default())?;
    println!("http_hello listening on {bound}");
    reactor.run(&mut Hello { body: Vec::new() })
}
