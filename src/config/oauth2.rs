//! `[oauth2]`: where patdesk gets the access tokens it signs in to the mailbox (and SMTP)
//! with, when `sign_in = "oauth2"`. One token source serves both: the provider grants one
//! token for IMAP and SMTP alike.

use std::path::PathBuf;

use super::raw::{RawFlow, RawOauth2};
use super::web::url_problem;
use super::{SecretKind, SecretRef};

/// Microsoft 365's app-only scope: whatever the app was granted on Exchange Online
/// (`IMAP.AccessAsApp`, `SMTP.SendAsApp`).
pub const MICROSOFT_SCOPE: &str = "https://outlook.office365.com/.default";
/// Google's scope for IMAP and SMTP.
pub const GOOGLE_SCOPE: &str = "https://mail.google.com/";
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

#[derive(Debug, Clone)]
pub struct OauthConfig {
    pub grant: Grant,
    /// The provider's token endpoint.
    pub token_url: String,
    /// What the token is asked for; a refresh-token set-up may leave it to the provider.
    pub scope: Option<String>,
}

/// How patdesk proves itself to the token endpoint.
#[derive(Debug, Clone)]
pub enum Grant {
    /// Microsoft's client-credentials grant, proven by a client secret.
    ClientSecret {
        client_id: String,
        secret: SecretRef,
    },
    /// The same, proven by a certificate: a JWT signed with its private key (PS256; a client
    /// assertion, RFC 7523) that names the certificate by its SHA-256 thumbprint.
    ClientCertificate {
        client_id: String,
        certificate: PathBuf,
        key: SecretRef,
    },
    /// Google's service account with domain-wide delegation: the JWT-bearer grant, acting as
    /// `subject` (the team mailbox).
    ServiceAccount { key: SecretRef, subject: String },
    /// Any provider's refresh-token grant, for delegated set-ups.
    RefreshToken {
        client_id: String,
        client_secret: Option<SecretRef>,
        refresh_token: SecretRef,
    },
}

impl OauthConfig {
    pub fn secret_refs(&self) -> Vec<&SecretRef> {
        match &self.grant {
            Grant::ClientSecret { secret, .. } => vec![secret],
            Grant::ClientCertificate { key, .. } => vec![key],
            Grant::ServiceAccount { key, .. } => vec![key],
            Grant::RefreshToken {
                client_secret,
                refresh_token,
                ..
            } => client_secret.iter().chain([refresh_token]).collect(),
        }
    }

    /// The grant in a few words, for `check-config` and messages.
    pub fn describe(&self) -> String {
        let grant = match &self.grant {
            Grant::ClientSecret { client_id, secret } => {
                format!(
                    "client credentials of {client_id}, secret from {}",
                    secret.origin()
                )
            }
            Grant::ClientCertificate {
                client_id,
                certificate,
                key,
            } => format!(
                "client credentials of {client_id}, certificate {} with its key from {}",
                certificate.display(),
                key.origin()
            ),
            Grant::ServiceAccount { key, subject } => {
                format!("service account from {} acting as {subject}", key.origin())
            }
            Grant::RefreshToken {
                client_id,
                refresh_token,
                ..
            } => format!(
                "refresh token of {client_id} from {}",
                refresh_token.origin()
            ),
        };
        format!("{grant}; tokens from {}", self.token_url)
    }
}

impl super::Validator {
    /// `subject` is the mailbox's username: the account a service account acts as.
    pub(super) fn oauth2(&mut self, raw: RawOauth2, subject: Option<&str>) -> Option<OauthConfig> {
        let Some(flow) = raw.flow else {
            self.problem(
                "oauth2.flow",
                "is missing: \"microsoft\" (Microsoft 365, app-only), \"google\" (a service account) or \"refresh_token\" (any provider, delegated)",
            );
            return None;
        };
        let unused = |validator: &mut Self, key: &str, given: bool| {
            if given {
                validator.problem(
                    &format!("oauth2.{key}"),
                    format!("is not used by flow {flow:?}: remove it"),
                );
            }
        };
        let (grant, token_url, scope) = match flow {
            RawFlow::Microsoft => {
                unused(
                    self,
                    "service_account_key",
                    raw.service_account_key.is_some(),
                );
                unused(self, "refresh_token", raw.refresh_token.is_some());
                let tenant = self.required_text("oauth2.tenant_id", raw.tenant_id);
                let client_id = self.required_text("oauth2.client_id", raw.client_id);
                let grant = self.client_credentials(
                    client_id,
                    raw.client_secret,
                    raw.certificate,
                    raw.certificate_key,
                );
                let token_url = raw.token_url.or_else(|| {
                    tenant.as_ref().map(|tenant| {
                        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
                    })
                });
                let scope = raw.scope.unwrap_or_else(|| MICROSOFT_SCOPE.to_string());
                (grant, token_url, Some(scope))
            }
            RawFlow::Google => {
                for (key, given) in [
                    ("tenant_id", raw.tenant_id.is_some()),
                    ("client_id", raw.client_id.is_some()),
                    ("client_secret", raw.client_secret.is_some()),
                    ("certificate", raw.certificate.is_some()),
                    ("certificate_key", raw.certificate_key.is_some()),
                    ("refresh_token", raw.refresh_token.is_some()),
                ] {
                    unused(self, key, given);
                }
                let key = self.required_secret(
                    "oauth2.service_account_key",
                    SecretKind::ServiceAccountKey,
                    raw.service_account_key,
                );
                if subject.is_none() {
                    self.problem(
                        "oauth2.flow",
                        "is \"google\": the service account acts as mailbox.username, which is missing",
                    );
                }
                let grant = match (key, subject) {
                    (Some(key), Some(subject)) => Some(Grant::ServiceAccount {
                        key,
                        subject: subject.to_string(),
                    }),
                    _ => None,
                };
                let token_url = raw
                    .token_url
                    .unwrap_or_else(|| GOOGLE_TOKEN_URL.to_string());
                let scope = raw.scope.unwrap_or_else(|| GOOGLE_SCOPE.to_string());
                (grant, Some(token_url), Some(scope))
            }
            RawFlow::RefreshToken => {
                unused(self, "tenant_id", raw.tenant_id.is_some());
                unused(
                    self,
                    "service_account_key",
                    raw.service_account_key.is_some(),
                );
                unused(self, "certificate", raw.certificate.is_some());
                unused(self, "certificate_key", raw.certificate_key.is_some());
                let client_id = self.required_text("oauth2.client_id", raw.client_id);
                let client_secret = raw.client_secret.and_then(|secret| {
                    self.required_secret("oauth2.client_secret", SecretKind::Password, Some(secret))
                });
                let refresh_token = self.required_secret(
                    "oauth2.refresh_token",
                    SecretKind::Password,
                    raw.refresh_token,
                );
                if raw.token_url.is_none() {
                    self.problem(
                        "oauth2.token_url",
                        "is missing: the provider's token endpoint, such as https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
                    );
                }
                let grant = match (client_id, refresh_token) {
                    (Some(client_id), Some(refresh_token)) => Some(Grant::RefreshToken {
                        client_id,
                        client_secret,
                        refresh_token,
                    }),
                    _ => None,
                };
                (grant, raw.token_url, raw.scope)
            }
        };
        let token_url = token_url.map(|url| self.token_url(url));
        Some(OauthConfig {
            grant: grant?,
            token_url: token_url?,
            scope,
        })
    }

    /// Microsoft's proof: a client secret or a certificate with its key, one of the two.
    fn client_credentials(
        &mut self,
        client_id: Option<String>,
        secret: Option<super::raw::RawSecret>,
        certificate: Option<PathBuf>,
        certificate_key: Option<super::raw::RawSecret>,
    ) -> Option<Grant> {
        match (secret, certificate, certificate_key) {
            (Some(secret), None, None) => {
                let secret = self.required_secret(
                    "oauth2.client_secret",
                    SecretKind::Password,
                    Some(secret),
                );
                Some(Grant::ClientSecret {
                    client_id: client_id?,
                    secret: secret?,
                })
            }
            (None, Some(certificate), Some(key)) => {
                let certificate = self.path(certificate);
                if !certificate.is_file() {
                    self.problem(
                        "oauth2.certificate",
                        format!(
                            "names {}, which is not a readable file (the certificate uploaded to the app registration, PEM)",
                            certificate.display()
                        ),
                    );
                }
                let key = self.required_secret(
                    "oauth2.certificate_key",
                    SecretKind::PemPrivateKey,
                    Some(key),
                );
                Some(Grant::ClientCertificate {
                    client_id: client_id?,
                    certificate,
                    key: key?,
                })
            }
            (None, Some(_), None) | (None, None, Some(_)) => {
                self.problem(
                    "oauth2.certificate",
                    "and oauth2.certificate_key go together: the certificate (PEM) and its private key",
                );
                None
            }
            (None, None, None) => {
                self.problem(
                    "oauth2.client_secret",
                    "is missing: give the app's client secret, or oauth2.certificate and oauth2.certificate_key",
                );
                None
            }
            (Some(_), _, _) => {
                self.problem(
                    "oauth2.client_secret",
                    "and oauth2.certificate are both set: give one of the two",
                );
                None
            }
        }
    }

    /// A token endpoint is reached over HTTPS; plain HTTP only on this machine (a test's).
    fn token_url(&mut self, url: String) -> String {
        if let Some(problem) = url_problem(&url) {
            self.problem("oauth2.token_url", format!("is {url:?}: {problem}"));
        }
        url
    }
}
