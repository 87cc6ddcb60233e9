//! `gmp-trace`: draws a gmp execution trace (`GMP_TRACE=<file>`) as an SVG.
//!
//! ```text
//! gmp-trace <trace.json> [-o <out.svg>] [--width <px>] [--from <µs>] [--to <µs>]
//! ```
//!
//! Exit status: 0 on success, 1 when the trace cannot be read or the SVG
//! cannot be written, 2 on a usage error (each names the bad argument).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: gmp-trace <trace.json> [-o <out.svg>] [--width <px>] [--from <µs>] [--to <µs>]

Draws a gmp execution trace (written with GMP_TRACE=<file>) as an SVG timeline.

  -o, --output <file>  where to write the SVG (default: the input with .svg)
  --width <px>         width of the drawing in pixels (default 1600, at least 400)
  --from <µs>          start of the window, in µs since the runtime started
  --to <µs>            end of the window, in µs
  -h, --help           print this help";

/// What the command line asks for.
#[derive(Debug)]
struct Args {
    input: PathBuf,
    output: PathBuf,
    opts: gmp_trace::Options,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("gmp-trace: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(summary) => {
            eprintln!("gmp-trace: wrote {} ({summary})", args.output.display());
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("gmp-trace: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<String, String> {
    let input = args.input.display();
    let json = std::fs::read_to_string(&args.input)
        .map_err(|e| format!("cannot read the trace {input}: {e}"))?;
    let trace = gmp_trace::parse(&json).map_err(|e| format!("{input} is not a gmp trace: {e}"))?;
    let svg = gmp_trace::render_svg(&trace, &args.opts);
    std::fs::write(&args.output, &svg)
        .map_err(|e| format!("cannot write the SVG to {}: {e}", args.output.display()))?;
    let polls = trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, gmp_trace::EventKind::Run { .. }))
        .count();
    let mut summary = format!(
        "{} kB, {} lanes, {polls} task polls",
        svg.len().div_ceil(1024),
        trace.lanes.len()
    );
    if trace.dropped_events > 0 {
        summary.push_str(&format!(
            "; warning: the trace says {} events were dropped",
            trace.dropped_events
        ));
    }
    Ok(summary)
}

/// Reads the arguments (after the program name); `Ok(None)` for `--help`.
fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Option<Args>, String> {
    let mut args = args.into_iter();
    let mut input: Option<PathBuf> = None;
    let mut output: Option<PathBuf> = None;
    let mut opts = gmp_trace::Options::default();
    let mut only_files = false;
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        if only_files || !text.starts_with('-') || text == "-" {
            if let Some(first) = &input {
                return Err(format!(
                    "more than one trace file given: {} and {text:?}",
                    quote(first)
                ));
            }
            input = Some(arg.into());
            continue;
        }
        // `--name=value` or `--name value`.
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(OsString::from(v))),
            _ => (text.clone(), None),
        };
        let mut value = |what: &str| -> Result<OsString, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value ({what})"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--" => only_files = true,
            "-o" | "--output" => output = Some(value("the SVG file to write")?.into()),
            "--width" => opts.width = width(&value("pixels, e.g. --width 1600")?)?,
            "--from" | "--to" => {
                let t = time(
                    &name,
                    &value("microseconds since the runtime started, e.g. 1500")?,
                )?;
                if name == "--from" {
                    opts.from = Some(t);
                } else {
                    opts.to = Some(t);
                }
            }
            _ => return Err(format!("unknown option {text:?}")),
        }
    }
    let input = input.ok_or("no trace file given")?;
    checked(input, output, opts).map(Some)
}

/// The value of `--width`.
fn width(v: &OsString) -> Result<u32, String> {
    let v = v.to_string_lossy();
    v.trim()
        .parse()
        .ok()
        .filter(|w| (400..=1_000_000).contains(w))
        .ok_or_else(|| {
            format!(
                "--width {v:?} is not a width in pixels (expected an integer from 400 to 1000000)"
            )
        })
}

/// The value of `--from` or `--to` (`name`).
fn time(name: &str, v: &OsString) -> Result<f64, String> {
    let v = v.to_string_lossy();
    v.trim()
        .parse()
        .ok()
        .filter(|t: &f64| t.is_finite())
        .ok_or_else(|| {
            format!(
                "{name} {v:?} is not a time (expected microseconds since the runtime started, e.g. {name} 1500)"
            )
        })
}

/// The arguments once all are read: the window must not be empty, the
/// output (by default the input with `.svg`) must not be the input.
fn checked(
    input: PathBuf,
    output: Option<PathBuf>,
    mut opts: gmp_trace::Options,
) -> Result<Args, String> {
    if let (Some(from), Some(to)) = (opts.from, opts.to) {
        if from >= to {
            return Err(format!(
                "--from {from} is not before --to {to} (the window would be empty)"
            ));
        }
    }
    let output = output.unwrap_or_else(|| input.with_extension("svg"));
    if output == input {
        return Err(format!(
            "the output {} is the input file; name another with -o",
            quote(&output)
        ));
    }
    opts.title = Some(input.file_name().map_or_else(
        || input.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    ));
    Ok(Args {
        input,
        output,
        opts,
    })
}

fn quote(path: &std::path::Path) -> String {
    format!("{:?}", path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn output_defaults_to_the_input_with_svg() {
        let args = parse(&["dir/trace.json"]).unwrap().unwrap();
        assert_eq!(args.output, PathBuf::from("dir/trace.svg"));
        assert_eq!(args.opts.title.as_deref(), Some("trace.json"));
        assert_eq!(args.opts.width, 1600);
    }

    #[test]
    fn all_options_are_read() {
        let args = parse(&[
            "t.json",
            "-o",
            "x.svg",
            "--width",
            "900",
            "--from",
            "10",
            "--to=20.5",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.output, PathBuf::from("x.svg"));
        assert_eq!(args.opts.width, 900);
        assert_eq!((args.opts.from, args.opts.to), (Some(10.0), Some(20.5)));
    }

    #[test]
    fn bad_arguments_are_named() {
        let err = |a: &[&str]| parse(a).unwrap_err();
        assert_eq!(err(&[]), "no trace file given");
        assert_eq!(
            err(&["t.json", "--wdith", "3"]),
            r#"unknown option "--wdith""#
        );
        assert_eq!(
            err(&["t.json", "--width"]),
            "--width needs a value (pixels, e.g. --width 1600)"
        );
        assert!(err(&["t.json", "--width", "abc"]).starts_with(r#"--width "abc" is not a width"#));
        assert!(err(&["t.json", "--from", "x"]).starts_with(r#"--from "x" is not a time"#));
        assert!(err(&["t.json", "--from", "5", "--to", "5"])
            .starts_with("--from 5 is not before --to 5"));
        assert!(err(&["a.json", "b.json"]).starts_with("more than one trace file given"));
        assert!(err(&["t.svg"]).contains("is the input file"));
    }

    #[test]
    fn help_is_not_an_error() {
        assert!(parse(&["--help"]).unwrap().is_none());
    }
}
