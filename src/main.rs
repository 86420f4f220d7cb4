//! The `stadtfeed` binary: everything lives in the library, see [`stadtfeed::cli`].

fn main() -> std::process::ExitCode {
    stadtfeed::cli::main()
}
