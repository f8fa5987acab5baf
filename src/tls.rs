//! The one TLS crypto provider: rustls on ring, installed once for the process. Clients
//! built without a provider of their own (reqwest here; lettre and the IMAP client later)
//! all use it.

use std::sync::Once;

pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only when another provider was installed first, which is equally fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A TLS client that trusts the system's roots: the one root store, for the connections
/// patdesk makes itself (IMAP adds an admin's `ca_file` to it).
pub fn client_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder()
        .with_root_certificates(system_roots())
        .with_no_client_auth()
}

/// The system's trusted roots; a certificate the store cannot take is left out.
pub fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(certificate);
    }
    roots
}
