fn main() -> std::process::ExitCode {
    let code = dozen::run(std::env::args_os());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
