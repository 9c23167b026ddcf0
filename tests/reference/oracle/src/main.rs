//! st-oracle: the reference safetensors parser's verdict on each file.
//!
//! Usage: st-oracle FILE...
//! Prints one line per file: `BASENAME<TAB>VERDICT<TAB>DETAIL`, where VERDICT
//! is `ok` when `SafeTensors::deserialize` accepts the whole file, else the
//! name of the `SafeTensorError` variant it returned (`InvalidOffset`,
//! `InvalidHeaderDeserialization`, ...), and DETAIL is the error's Display
//! text (empty for `ok`). A panic inside the reference is reported as the
//! verdict `panic` rather than ending the run, so one bad vector cannot hide
//! the others. Only the reference crate's public API is used.

use std::io::Write;
use std::panic;
use std::path::Path;

fn variant_name(debug: &str) -> &str {
    // `{:?}` of a unit variant is its name; of a tuple variant, `Name(..)`.
    let end = debug
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(debug.len());
    &debug[..end]
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn verdict(bytes: &[u8]) -> (String, String) {
    match panic::catch_unwind(|| safetensors::SafeTensors::deserialize(bytes).map(|_| ())) {
        Ok(Ok(())) => ("ok".to_string(), String::new()),
        Ok(Err(e)) => {
            let debug = format!("{e:?}");
            let name = variant_name(&debug).to_string();
            // InvalidOffset names a tensor found by iterating a HashMap, so
            // which name it shows changes from run to run; the variant does not.
            let detail = if name == "InvalidOffset" {
                "invalid offset for a tensor (which one the reference names depends on hash order)".to_string()
            } else {
                one_line(&e.to_string())
            };
            (name, detail)
        }
        Err(_) => ("panic".to_string(), String::new()),
    }
}

fn main() {
    panic::set_hook(Box::new(|_| {})); // a panic is a verdict, not noise
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut status = 0;
    for arg in std::env::args().skip(1) {
        let path = Path::new(&arg);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| arg.clone());
        match std::fs::read(path) {
            Ok(bytes) => {
                let (v, detail) = verdict(&bytes);
                writeln!(out, "{name}\t{v}\t{detail}").expect("stdout");
            }
            Err(e) => {
                eprintln!("st-oracle: {arg}: {e}");
                status = 1;
            }
        }
    }
    std::process::exit(status);
}
