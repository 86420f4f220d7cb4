//! The `stadtfeed` binary: everything lives in the library, see [`stadtfeed::cli`].

/// mimalloc returns freed memory to the system; glibc's allocator kept the
/// peak of a reload (and of a large record) for good.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    stadtfeed::cli::main()
}
