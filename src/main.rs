use std::process::ExitCode;

fn main() -> ExitCode {
    patdesk::cli::main()
}
