//! How the SMTP connection is made and signed in: once for all with a password (or no
//! login), or anew for each round with the current OAuth 2 token, renewed once when the server
//! refuses it.

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::SenderError;
use crate::config::{Security, SmtpConfig};
use crate::oauth::{Credential, OauthError, TokenSource};

pub(super) type Transport = AsyncSmtpTransport<Tokio1Executor>;

pub(super) enum Connection {
    Fixed(Transport),
    /// Signed in with OAuth 2: the token changes, so the transport is made per round.
    Oauth2 {
        smtp: SmtpConfig,
        username: String,
        tokens: TokenSource,
    },
}

/// Why the server cannot be used now.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error(transparent)]
    Token(#[from] OauthError),
    #[error("{0}")]
    Server(String),
}

impl Connection {
    pub(super) fn new(
        smtp: &SmtpConfig,
        credential: Option<Credential>,
    ) -> Result<Connection, SenderError> {
        let username = smtp.login.as_ref().map(|login| login.username.clone());
        Ok(match (username, credential) {
            (Some(username), Some(Credential::Oauth2(tokens))) => {
                // Made now only to report a set-up mistake at start.
                transport(smtp, None)?;
                Connection::Oauth2 {
                    smtp: smtp.clone(),
                    username,
                    tokens,
                }
            }
            (Some(username), Some(Credential::Password(password))) => Connection::Fixed(transport(
                smtp,
                Some((
                    Credentials::new(username, password.expose().to_string()),
                    None,
                )),
            )?),
            _ => Connection::Fixed(transport(smtp, None)?),
        })
    }

    pub(super) fn uses_tokens(&self) -> bool {
        matches!(self, Connection::Oauth2 { .. })
    }

    /// A transport that has just connected and signed in.
    pub(super) async fn ready(&self) -> Result<Transport, NotReady> {
        let (smtp, username, tokens) = match self {
            Connection::Fixed(transport) => {
                return tested(transport).await.map(|()| transport.clone());
            }
            Connection::Oauth2 {
                smtp,
                username,
                tokens,
            } => (smtp, username, tokens),
        };
        let mut refused = None;
        for renew in [false, true] {
            let token = if renew {
                tokens.renewed().await?
            } else {
                tokens.token().await?
            };
            let credentials = Credentials::new(username.clone(), token.expose().to_string());
            let transport = transport(smtp, Some((credentials, Some(Mechanism::Xoauth2))))
                .map_err(|e| NotReady::Server(e.to_string()))?;
            match transport.test_connection().await {
                Ok(true) => return Ok(transport),
                Ok(false) => return Err(NotReady::Server("the server did not answer".to_string())),
                // A 5xx answer while signing in: the token was refused; renew it once.
                Err(error) if error.is_permanent() => refused = Some(error.to_string()),
                Err(error) => return Err(NotReady::Server(error.to_string())),
            }
        }
        Err(NotReady::Server(format!(
            "{} refused the OAuth 2 token twice: {}",
            smtp.endpoint.host,
            refused.unwrap_or_default()
        )))
    }
}

async fn tested(transport: &Transport) -> Result<(), NotReady> {
    match transport.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(NotReady::Server("the server did not answer".to_string())),
        Err(error) => Err(NotReady::Server(error.to_string())),
    }
}

/// Connects to `smtp` and signs in as the daemon would, for `check-config --connect`.
pub async fn check_sign_in(
    smtp: &SmtpConfig,
    credential: Option<Credential>,
) -> Result<(), NotReady> {
    crate::tls::install_crypto_provider();
    let connection =
        Connection::new(smtp, credential).map_err(|e| NotReady::Server(e.to_string()))?;
    connection.ready().await.map(|_| ())
}

/// The SMTP transport for `smtp`, signed in with `login` (and its mechanism, where the
/// server's own choice will not do) when given.
fn transport(
    smtp: &SmtpConfig,
    login: Option<(Credentials, Option<Mechanism>)>,
) -> Result<Transport, SenderError> {
    let host = smtp.endpoint.host.clone();
    let setup = |error: String| SenderError::Setup {
        host: host.clone(),
        error,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
        .port(smtp.endpoint.port)
        .timeout(Some(smtp.timeout));
    if smtp.endpoint.security != Security::Plaintext {
        let mut parameters = TlsParameters::builder(host.clone());
        if let Some(path) = &smtp.endpoint.ca_file {
            let pem = std::fs::read(path).map_err(|e| setup(format!("{}: {e}", path.display())))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|e| setup(format!("{}: {e}", path.display())))?;
            parameters = parameters.add_root_certificate(certificate);
        }
        let parameters = parameters
            .build_rustls()
            .map_err(|e| setup(e.to_string()))?;
        builder = builder.tls(match smtp.endpoint.security {
            Security::Tls => Tls::Wrapper(parameters),
            _ => Tls::Required(parameters),
        });
    }
    if let Some((credentials, mechanism)) = login {
        builder = builder.credentials(credentials);
        if let Some(mechanism) = mechanism {
            builder = builder.authentication(vec![mechanism]);
        }
    }
    Ok(builder.build())
}
