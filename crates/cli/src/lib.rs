//! The `tekkan` command's library: configuration, keys, starting the server, and the
//! maintenance commands. Only this crate reads files and the environment.

pub mod audit;
pub mod backup;
pub mod config;
pub mod db_copy;
pub mod keys;
mod maintenance;
pub mod restore;
pub mod rollback;
mod scheduler;
mod server;
mod vault;

pub use maintenance::{rotate_log_key, run_demo, run_scale_demo};
pub use server::{
    CliError, Running, ServeOptions, db_path, keep_log_key_file, keystore_path, open_app, start,
};
pub use vault::rotate_master_key;

/// rustls needs one process-wide crypto provider when more than one could link in.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
