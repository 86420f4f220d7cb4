//! The `stadtfeed` binary: everything lives in the library, see [`stadtfeed::cli`].

/// mimalloc returns freed memory to the system (an idle server's when it
/// is asked to, see `serve::reload`); glibc's allocator kept the peak of a
/// reload (and of a large record) for good.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // mimalloc asks for transparent huge pages; the kernel then zeroes
    // 2 MiB for each first touch, and again after every purge. A publish
    // at 100 000 records spent 29 % of its time so (bench/README.md,
    // "transparent huge pages off"); 4 KiB pages cost less here, and keep
    // resident memory nearer to what is used.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    stadtfeed::cli::main()
}
