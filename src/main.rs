/// The router allocates per request on several threads; mimalloc costs less CPU there than
/// glibc's arenas and keeps less memory (README, Performance: Router).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let code = dozen::run(std::env::args_os());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
