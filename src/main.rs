fn main() -> std::process::ExitCode {
    reconf::cli::main()
}
