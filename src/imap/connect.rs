//! Opening an authenticated IMAP session: TCP, then implicit TLS, STARTTLS or (to a loopback
//! address only) plaintext, then login. Certificates are always verified, against the
//! system's roots plus an optional extra CA for a corporate one.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::{Client, Session};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{Endpoint, Secret, Security};
use crate::oauth::OauthError;
use crate::oauth::sasl::{BearerAuthenticator, Mechanism};

/// The connection under the IMAP session: TLS, or plain TCP to a loopback address.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type ImapSession = Session<Stream>;

/// How patdesk proves who it is: a password (LOGIN), or an OAuth 2 access token (SASL
/// OAUTHBEARER where the greeting offers it, else XOAUTH2, which Microsoft 365 and Gmail take).
pub enum Login<'a> {
    Password {
        username: &'a str,
        password: &'a Secret,
    },
    Bearer {
        username: &'a str,
        token: &'a Secret,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach {address}: {error}")]
    Unreachable { address: String, error: String },
    #[error("TLS with {host} failed: {error}{hint}")]
    Tls {
        host: String,
        error: String,
        hint: &'static str,
    },
    #[error("no OAuth 2 token to sign in with: {0}")]
    Token(#[from] OauthError),
    #[error("the extra CA file {path} cannot be used: {error}")]
    CaFile { path: String, error: String },
    #[error("{host} refused the login for {username}: {error}")]
    Login {
        host: String,
        username: String,
        error: String,
    },
    #[error("{host} did not answer within {seconds} s ({during})")]
    Timeout {
        host: String,
        seconds: u64,
        during: &'static str,
    },
    #[error("IMAP error with {host} ({during}): {error}")]
    Protocol {
        host: String,
        during: &'static str,
        error: String,
    },
}

/// Connects and logs in, every step within `deadline`.
pub async fn connect(
    endpoint: &Endpoint,
    login: Login<'_>,
    deadline: Duration,
) -> Result<ImapSession, ConnectError> {
    crate::tls::install_crypto_provider();
    let host = endpoint.host.clone();
    let timed = |during: &'static str| {
        let host = host.clone();
        move |_| ConnectError::Timeout {
            host,
            seconds: deadline.as_secs(),
            during,
        }
    };
    let address = format!("{}:{}", endpoint.host, endpoint.port);
    let tcp = tokio::time::timeout(deadline, TcpStream::connect(&address))
        .await
        .map_err(timed("connecting"))?
        .map_err(|e| ConnectError::Unreachable {
            address: address.clone(),
            error: e.to_string(),
        })?;

    // The greeting's capabilities choose between the two token mechanisms only; a server
    // that lists none gets XOAUTH2.
    let (client, bearer) = match endpoint.security {
        Security::Plaintext => {
            let mut client = Client::new(Stream::Plain(tcp));
            let bearer = read_greeting(&mut client, &host, deadline).await?;
            (client, bearer)
        }
        Security::Tls => {
            let tls = tls_handshake(endpoint, tcp, deadline).await?;
            let mut client = Client::new(Stream::Tls(Box::new(tls)));
            let bearer = read_greeting(&mut client, &host, deadline).await?;
            (client, bearer)
        }
        Security::StartTls => {
            let mut client = Client::new(Stream::Plain(tcp));
            let bearer = read_greeting(&mut client, &host, deadline).await?;
            tokio::time::timeout(deadline, client.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(timed("STARTTLS"))?
                .map_err(|e| ConnectError::Protocol {
                    host: host.clone(),
                    during: "STARTTLS",
                    error: e.to_string(),
                })?;
            let tcp = match client.into_inner() {
                Stream::Plain(tcp) => tcp,
                Stream::Tls(_) => {
                    return Err(ConnectError::Protocol {
                        host,
                        during: "STARTTLS",
                        error: "the connection was already encrypted".to_string(),
                    });
                }
            };
            let tls = tls_handshake(endpoint, tcp, deadline).await?;
            (Client::new(Stream::Tls(Box::new(tls))), bearer)
        }
    };

    let (username, signed_in) = match login {
        Login::Password { username, password } => (
            username,
            tokio::time::timeout(deadline, client.login(username, password.expose())).await,
        ),
        Login::Bearer { username, token } => {
            let mechanism = bearer;
            let authenticator = BearerAuthenticator::new(mechanism, username, token);
            (
                username,
                tokio::time::timeout(
                    deadline,
                    client.authenticate(mechanism.name(), authenticator),
                )
                .await,
            )
        }
    };
    let session =
        signed_in
            .map_err(timed("logging in"))?
            .map_err(|(e, _)| ConnectError::Login {
                host: host.clone(),
                username: username.to_string(),
                error: e.to_string(),
            })?;
    Ok(session)
}

/// OAUTHBEARER when the greeting's capabilities list it, else XOAUTH2.
fn token_mechanism(greeting: &async_imap::imap_proto::Response<'_>) -> Mechanism {
    use async_imap::imap_proto::{Capability, Response, ResponseCode};
    let offers_bearer = match greeting {
        Response::Data { outcome, .. } => match &outcome.code {
            Some(ResponseCode::Capabilities(capabilities)) => capabilities.iter().any(
                |c| matches!(c, Capability::Auth(name) if name.eq_ignore_ascii_case("OAUTHBEARER")),
            ),
            _ => false,
        },
        _ => false,
    };
    if offers_bearer {
        Mechanism::OauthBearer
    } else {
        Mechanism::Xoauth2
    }
}

/// Reads the greeting; says which token mechanism to use.
async fn read_greeting(
    client: &mut Client<Stream>,
    host: &str,
    deadline: Duration,
) -> Result<Mechanism, ConnectError> {
    match tokio::time::timeout(deadline, client.read_response()).await {
        Err(_) => Err(ConnectError::Timeout {
            host: host.to_string(),
            seconds: deadline.as_secs(),
            during: "waiting for the greeting",
        }),
        Ok(Ok(Some(greeting))) => Ok(token_mechanism(greeting.parsed())),
        Ok(Ok(None)) => Err(ConnectError::Protocol {
            host: host.to_string(),
            during: "the greeting",
            error: "the server closed the connection".to_string(),
        }),
        Ok(Err(e)) => Err(ConnectError::Protocol {
            host: host.to_string(),
            during: "the greeting",
            error: e.to_string(),
        }),
    }
}

async fn tls_handshake(
    endpoint: &Endpoint,
    tcp: TcpStream,
    deadline: Duration,
) -> Result<TlsStream<TcpStream>, ConnectError> {
    let config = client_config(endpoint)?;
    let host = endpoint.host.clone();
    let name = ServerName::try_from(host.clone()).map_err(|e| ConnectError::Tls {
        host: host.clone(),
        error: e.to_string(),
        hint: "",
    })?;
    tokio::time::timeout(
        deadline,
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .map_err(|_| ConnectError::Timeout {
        host: host.clone(),
        seconds: deadline.as_secs(),
        during: "the TLS handshake",
    })?
    .map_err(|e| {
        let error = e.to_string();
        let hint = if error.contains("UnknownIssuer") || error.contains("invalid peer certificate")
        {
            ": its certificate is not signed by a CA patdesk trusts; for a private CA set ca_file"
        } else {
            ""
        };
        ConnectError::Tls { host, error, hint }
    })
}

/// The system's roots, plus `ca_file` when given.
fn client_config(endpoint: &Endpoint) -> Result<rustls::ClientConfig, ConnectError> {
    let mut roots = crate::tls::system_roots();
    if let Some(path) = &endpoint.ca_file {
        let ca_error = |error: String| ConnectError::CaFile {
            path: path.display().to_string(),
            error,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let mut added = 0;
        for certificate in rustls_pemfile::certs(&mut pem.as_slice()) {
            let certificate = certificate.map_err(|e| ca_error(e.to_string()))?;
            roots
                .add(certificate)
                .map_err(|e| ca_error(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(ca_error("no PEM certificate in it".to_string()));
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}
