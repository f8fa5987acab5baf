//! What each grant sends to the token endpoint: the form of RFC 6749 (client credentials,
//! refresh token) and RFC 7523 (a JWT as the grant, or as the client's proof).

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::OauthError;
use crate::config::{Grant, OauthConfig, Secret};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a signed assertion is good for; the token endpoint reads it at once.
const ASSERTION_SECONDS: u64 = 600;

/// A grant with its secrets read and checked, ready to ask for tokens.
pub(super) enum Proof {
    ClientSecret {
        client_id: String,
        secret: Secret,
    },
    ClientCertificate {
        client_id: String,
        key: EncodingKey,
        /// `x5t#S256`: the base64url SHA-256 of the certificate's DER.
        thumbprint: String,
    },
    ServiceAccount {
        key: EncodingKey,
        client_email: String,
        subject: String,
    },
    RefreshToken {
        client_id: String,
        client_secret: Option<Secret>,
        refresh_token: Secret,
    },
}

/// The fields of a Google service account key patdesk uses.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

impl Proof {
    /// Reads the grant's secrets; a problem names the key and says what is wrong.
    pub(super) fn read(config: &OauthConfig) -> Result<Proof, OauthError> {
        let read = |secret: &crate::config::SecretRef| {
            secret.read().map_err(|problem| {
                OauthError::Credentials(format!("`{}` {}", problem.key, problem.message))
            })
        };
        Ok(match &config.grant {
            Grant::ClientSecret { client_id, secret } => Proof::ClientSecret {
                client_id: client_id.clone(),
                secret: read(secret)?,
            },
            Grant::ClientCertificate {
                client_id,
                certificate,
                key,
            } => {
                let pem = std::fs::read(certificate).map_err(|e| {
                    OauthError::Credentials(format!("cannot read {}: {e}", certificate.display()))
                })?;
                let der = rustls_pemfile::certs(&mut pem.as_slice())
                    .next()
                    .and_then(Result::ok)
                    .ok_or_else(|| {
                        OauthError::Credentials(format!(
                            "{} holds no PEM certificate",
                            certificate.display()
                        ))
                    })?;
                let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(der.as_ref()));
                let key =
                    EncodingKey::from_rsa_pem(read(key)?.expose().as_bytes()).map_err(|e| {
                        OauthError::Credentials(format!(
                            "`oauth2.certificate_key` is not an RSA private key: {e}"
                        ))
                    })?;
                Proof::ClientCertificate {
                    client_id: client_id.clone(),
                    key,
                    thumbprint,
                }
            }
            Grant::ServiceAccount { key, subject } => {
                let secret = read(key)?;
                let parsed: ServiceAccountKey =
                    serde_json::from_str(secret.expose()).map_err(|e| {
                        OauthError::Credentials(format!(
                            "`oauth2.service_account_key` is not a service account key: {e}"
                        ))
                    })?;
                let key =
                    EncodingKey::from_rsa_pem(parsed.private_key.as_bytes()).map_err(|e| {
                        OauthError::Credentials(format!(
                            "the private_key of `oauth2.service_account_key` is not an RSA key: {e}"
                        ))
                    })?;
                Proof::ServiceAccount {
                    key,
                    client_email: parsed.client_email,
                    subject: subject.clone(),
                }
            }
            Grant::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => Proof::RefreshToken {
                client_id: client_id.clone(),
                client_secret: client_secret.as_ref().map(read).transpose()?,
                refresh_token: read(refresh_token)?,
            },
        })
    }

    /// The form to post. `refresh_token` is the newest one the provider gave, if it rotates
    /// them.
    pub(super) fn form(
        &self,
        config: &OauthConfig,
        refresh_token: Option<&Secret>,
        now: jiff::Timestamp,
    ) -> Result<Vec<(&'static str, String)>, OauthError> {
        let scope = config.scope.clone();
        let mut form = Vec::new();
        match self {
            Proof::ClientSecret { client_id, secret } => {
                form.push(("grant_type", "client_credentials".to_string()));
                form.push(("client_id", client_id.clone()));
                form.push(("client_secret", secret.expose().to_string()));
            }
            Proof::ClientCertificate {
                client_id,
                key,
                thumbprint,
            } => {
                // Microsoft's current form: PS256, the certificate named by its SHA-256
                // thumbprint (the older RS256 with a SHA-1 `x5t` is on its way out).
                let mut header = Header::new(Algorithm::PS256);
                header.x5t_s256 = Some(thumbprint.clone());
                let assertion = sign(
                    &header,
                    client_id,
                    client_id,
                    &config.token_url,
                    None,
                    key,
                    now,
                )?;
                form.push(("grant_type", "client_credentials".to_string()));
                form.push(("client_id", client_id.clone()));
                form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.to_string()));
                form.push(("client_assertion", assertion));
            }
            Proof::ServiceAccount {
                key,
                client_email,
                subject,
            } => {
                let header = Header::new(Algorithm::RS256);
                let assertion = sign(
                    &header,
                    client_email,
                    subject,
                    &config.token_url,
                    scope.as_deref(),
                    key,
                    now,
                )?;
                form.push(("grant_type", JWT_BEARER.to_string()));
                form.push(("assertion", assertion));
                // The scope travels inside the assertion.
                return Ok(form);
            }
            Proof::RefreshToken {
                client_id,
                client_secret,
                refresh_token: configured,
            } => {
                form.push(("grant_type", "refresh_token".to_string()));
                form.push(("client_id", client_id.clone()));
                if let Some(secret) = client_secret {
                    form.push(("client_secret", secret.expose().to_string()));
                }
                let token = refresh_token.unwrap_or(configured);
                form.push(("refresh_token", token.expose().to_string()));
            }
        }
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        Ok(form)
    }
}

fn sign(
    header: &Header,
    issuer: &str,
    subject: &str,
    audience: &str,
    scope: Option<&str>,
    key: &EncodingKey,
    now: jiff::Timestamp,
) -> Result<String, OauthError> {
    let now = u64::try_from(now.as_second()).unwrap_or_default();
    let claims = AssertionClaims {
        iss: issuer,
        sub: subject,
        aud: audience,
        iat: now,
        nbf: now,
        exp: now + ASSERTION_SECONDS,
        jti: unique_id(now),
        scope,
    };
    jsonwebtoken::encode(header, &claims, key)
        .map_err(|e| OauthError::Credentials(format!("cannot sign the assertion: {e}")))
}

/// An assertion's `jti`: providers refuse one they have seen (replay).
fn unique_id(now: u64) -> String {
    let mut random = [0u8; 16];
    // Without randomness the time and a count still tell assertions apart.
    if getrandom::getrandom(&mut random).is_err() {
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let count = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        random = (u128::from(now) << 64 | u128::from(count)).to_le_bytes();
    }
    crate::hex::encode(&random)
}
