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
