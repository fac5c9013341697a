//! What palm's perf tools share: libzmq's argument handling and exit codes, and C's `atoi`.
//! Each tool includes it with `#[path = "perf/common.rs"] mod common;`.

use std::process::ExitCode;

/// Runs a perf tool the way libzmq's do: exactly `<endpoint> <size> <count>` (plus an
/// optional `<enable_curve>` when `curve_arg` is set, refused when non-zero), the usage line
/// and exit code 1 on a wrong argument count, and any error printed with exit code 255.
pub fn main(
    usage: &str,
    curve_arg: bool,
    run: impl FnOnce(&str, usize, usize) -> Result<(), String>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 && !(curve_arg && args.len() == 5) {
        println!("usage: {usage}");
        return ExitCode::from(1);
    }
    if args.get(4).is_some_and(|c| atoi(c) != 0) {
        println!("error: CURVE is not supported by palm");
        return ExitCode::from(255);
    }
    match run(&args[1], atoi(&args[2]), atoi(&args[3])) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{e}");
            ExitCode::from(255)
        }
    }
}

/// C's `atoi`: leading digits, anything else is 0.
pub fn atoi(s: &str) -> usize {
    let digits = s.trim_start().bytes().take_while(u8::is_ascii_digit);
    digits.fold(0usize, |n, d| {
        n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
    })
}
